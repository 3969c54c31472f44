#include "engram/sim/demo_file.h"

#include <algorithm>
#include <cmath>

#include <hdf5.h>

#include "engram/core/error.h"
#include "engram/core/json.h"

namespace engram {

namespace {

// HDF5 prints its own error stack by default; engram reports one line instead.
void quiet_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void write_attr(hid_t obj, const char* name, int64_t value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attr, H5T_NATIVE_INT64, &value);
  H5Aclose(attr);
  H5Sclose(space);
}

void write_attr(hid_t obj, const char* name, const std::string& value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, std::max<size_t>(1, value.size()));
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attr, type, value.data());
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
}

template <typename T>
void write_array(hid_t group, const char* name, hid_t type, const std::vector<T>& values, hsize_t rows, hsize_t cols) {
  hsize_t dims[2] = {rows, cols};
  hid_t space = H5Screate_simple(cols ? 2 : 1, dims, nullptr);
  hid_t set = H5Dcreate2(group, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (set < 0) throw Error(std::string("cannot create dataset ") + name);
  if (!values.empty()) H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Dclose(set);
  H5Sclose(space);
}

// RAII for the reader: every handle closed on every path, including errors.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~Handle() {
    if (id >= 0) close(id);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

int64_t read_int_attr(hid_t obj, const char* name, const std::string& where) {
  if (H5Aexists(obj, name) <= 0) throw Error(where + " has no attribute '" + name + "'");
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  int64_t v = 0;
  if (H5Aread(attr.id, H5T_NATIVE_INT64, &v) < 0) throw Error(where + ": attribute '" + name + "' is not an integer");
  return v;
}

std::string read_string_attr(hid_t obj, const char* name, const std::string& where) {
  if (H5Aexists(obj, name) <= 0) throw Error(where + " has no attribute '" + name + "'");
  Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.id), H5Tclose);
  if (H5Tget_class(type.id) != H5T_STRING) throw Error(where + ": attribute '" + name + "' is not a string");
  std::string s(H5Tget_size(type.id), '\0');
  Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.id, s.size());
  if (H5Aread(attr.id, mem.id, s.data()) < 0) throw Error(where + ": cannot read attribute '" + name + "'");
  return s.substr(0, s.find('\0'));
}

template <typename T>
std::vector<T> read_array(hid_t group, const char* name, hid_t type, int64_t rows, int64_t cols, const std::string& where) {
  if (H5Lexists(group, name, H5P_DEFAULT) <= 0) throw Error(where + " has no dataset '" + name + "'");
  Handle set(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
  Handle space(H5Dget_space(set.id), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.id);
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space.id, dims, nullptr);
  const bool ok = cols ? rank == 2 && static_cast<int64_t>(dims[0]) == rows && static_cast<int64_t>(dims[1]) == cols
                       : rank == 1 && static_cast<int64_t>(dims[0]) == rows;
  if (!ok) {
    std::string shape = rank == 2 ? std::to_string(dims[0]) + "×" + std::to_string(dims[1]) : std::to_string(dims[0]);
    throw Error(where + "/" + name + " has shape [" + shape + "], expected [" + std::to_string(rows) +
                (cols ? "×" + std::to_string(cols) : "") + "]");
  }
  std::vector<T> values(static_cast<size_t>(rows * std::max<int64_t>(cols, 1)));
  if (!values.empty() && H5Dread(set.id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    throw Error(where + "/" + name + ": read failed (truncated file?)");
  return values;
}

}  // namespace

DemoWriter::DemoWriter(const std::string& path, const nlohmann::json& env_args) : path_(path) {
  quiet_hdf5();
  file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file_ < 0) throw Error("cannot create dataset file " + path);
  data_ = H5Gcreate2(file_, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  write_attr(data_, "env_args", env_args.dump());
  H5Fflush(file_, H5F_SCOPE_GLOBAL);
}

DemoWriter::~DemoWriter() {
  if (data_ >= 0) H5Gclose(data_);
  if (file_ >= 0) H5Fclose(file_);
}

void DemoWriter::append(const Episode& ep, const std::string& style_name) {
  const std::string name = "demo_" + std::to_string(ep.index);
  hid_t g = H5Gcreate2(data_, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) throw Error(path_ + ": cannot create group /data/" + name + " (written twice?)");
  const auto T = static_cast<hsize_t>(ep.length());
  hid_t obs = H5Gcreate2(g, "obs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  write_array(obs, "state", H5T_NATIVE_FLOAT, ep.obs, T, static_cast<hsize_t>(ep.obs_dim));
  H5Gclose(obs);
  write_array(g, "actions", H5T_NATIVE_FLOAT, ep.actions, T, static_cast<hsize_t>(ep.action_dim));
  write_array(g, "executed_actions", H5T_NATIVE_FLOAT, ep.executed_actions, T, static_cast<hsize_t>(ep.action_dim));
  write_array(g, "rewards", H5T_NATIVE_FLOAT, ep.rewards, T, 0);
  write_array(g, "dones", H5T_NATIVE_UINT8, ep.dones, T, 0);
  write_attr(g, "num_samples", ep.length());
  write_attr(g, "success", static_cast<int64_t>(ep.success));
  write_attr(g, "style", static_cast<int64_t>(ep.style));
  write_attr(g, "style_name", style_name);
  write_attr(g, "episode", ep.index);
  H5Gclose(g);
  total_ += ep.length();
  ++demos_;
  if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0) throw Error(path_ + ": flush failed (disk full?)");
}

void DemoWriter::close() {
  write_attr(data_, "total", total_);
  write_attr(data_, "num_demos", demos_);
  H5Gclose(data_);
  data_ = -1;
  if (H5Fclose(file_) < 0) throw Error(path_ + ": close failed (disk full?)");
  file_ = -1;
}

namespace {
// Training on a NaN would poison every weight; say where it is instead.
void require_finite(const std::vector<float>& values, const std::string& where, int width) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw Error(where + ": step " + std::to_string(i / static_cast<size_t>(std::max(width, 1))) + " holds " +
                  std::to_string(values[i]) + " (non-finite data; regenerate or repair this episode)");
}
}  // namespace

DemoDataset read_demos(const std::string& path) {
  quiet_hdf5();
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error("dataset " + path + " is missing or not an HDF5 file (truncated or corrupt?)");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file.id < 0) throw Error("dataset " + path + " cannot be opened (truncated or corrupt?)");
  if (H5Lexists(file.id, "data", H5P_DEFAULT) <= 0) throw Error("dataset " + path + " has no /data group: not an engram/robomimic dataset");
  Handle data(H5Gopen2(file.id, "data", H5P_DEFAULT), H5Gclose);
  DemoDataset out;
  const std::string where = path + ":/data";
  out.env_args = parse_json(read_string_attr(data.id, "env_args", where), where + ": env_args");
  if (!out.env_args.contains("obs_dim") || !out.env_args.contains("action_dim"))
    throw Error(where + ": env_args lacks obs_dim/action_dim");
  const int obs_dim = out.env_args["obs_dim"].get<int>(), act_dim = out.env_args["action_dim"].get<int>();
  H5G_info_t info;
  H5Gget_info(data.id, &info);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char name[256];
    if (H5Lget_name_by_idx(data.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof(name), H5P_DEFAULT) < 0)
      throw Error(where + ": cannot list its groups (corrupt?)");
    const std::string demo = name;
    if (demo.rfind("demo_", 0) != 0) continue;
    const std::string w = where + "/" + demo;
    Handle g(H5Gopen2(data.id, name, H5P_DEFAULT), H5Gclose);
    if (g.id < 0) throw Error(w + " cannot be opened (corrupt?)");
    Episode ep;
    ep.obs_dim = obs_dim;
    ep.action_dim = act_dim;
    const int64_t T = read_int_attr(g.id, "num_samples", w);
    ep.index = read_int_attr(g.id, "episode", w);
    const int64_t style = read_int_attr(g.id, "style", w);
    const auto styles = out.env_args.value("styles", nlohmann::json::array());
    if (style < 0 || style >= std::max<int64_t>(static_cast<int64_t>(styles.size()), 1))
      throw Error(w + ": expert style " + std::to_string(style) + " is outside the dataset's " +
                  std::to_string(styles.size()) + " styles");
    ep.style = static_cast<int>(style);
    ep.success = read_int_attr(g.id, "success", w) != 0;
    if (H5Lexists(g.id, "obs", H5P_DEFAULT) <= 0) throw Error(w + " has no obs group");
    {
      Handle obs(H5Gopen2(g.id, "obs", H5P_DEFAULT), H5Gclose);
      ep.obs = read_array<float>(obs.id, "state", H5T_NATIVE_FLOAT, T, obs_dim, w + "/obs");
    }
    ep.actions = read_array<float>(g.id, "actions", H5T_NATIVE_FLOAT, T, act_dim, w);
    ep.executed_actions = read_array<float>(g.id, "executed_actions", H5T_NATIVE_FLOAT, T, act_dim, w);
    ep.rewards = read_array<float>(g.id, "rewards", H5T_NATIVE_FLOAT, T, 0, w);
    ep.dones = read_array<uint8_t>(g.id, "dones", H5T_NATIVE_UINT8, T, 0, w);
    if (T > 0 && ep.dones.back() != 1) throw Error(w + ": the last step is not marked done (truncated episode?)");
    require_finite(ep.obs, w + "/obs/state", obs_dim);
    require_finite(ep.actions, w + "/actions", act_dim);
    require_finite(ep.executed_actions, w + "/executed_actions", act_dim);
    require_finite(ep.rewards, w + "/rewards", 1);
    out.episodes.push_back(std::move(ep));
  }
  std::sort(out.episodes.begin(), out.episodes.end(), [](const Episode& a, const Episode& b) { return a.index < b.index; });
  return out;
}

DemoSummary summarize(const DemoDataset& data) {
  DemoSummary s;
  for (const auto& ep : data.episodes) {
    const auto style = static_cast<size_t>(ep.style);
    if (s.per_style.size() <= style) s.per_style.resize(style + 1), s.per_style_success.resize(style + 1);
    s.episodes += 1;
    s.transitions += ep.length();
    s.successes += ep.success;
    s.per_style[style] += 1;
    s.per_style_success[style] += ep.success;
  }
  return s;
}

}  // namespace engram
