#include "engram/core/config.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "engram/core/error.h"

namespace engram {

ConfigObject::ConfigObject(const json& object, std::string where)
    : object_(object), where_(std::move(where)) {
  if (!object_.is_object() && !object_.is_null())
    throw Error("config " + (where_.empty() ? std::string("(top level)") : where_) +
                ": expected a JSON object, found " + object_.dump());
}

const json* ConfigObject::value(const std::string& key) {
  read_.insert(key);
  if (object_.is_null() || !object_.contains(key)) return nullptr;
  return &object_.at(key);
}

int64_t ConfigObject::integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
  const json* v = value(key);
  int64_t x = fallback;
  if (v) {
    if (!v->is_number_integer())
      throw Error("config " + path(key) + ": expected an integer, found " + v->dump());
    x = v->get<int64_t>();
  }
  if (x < lo || x > hi)
    throw Error("config " + path(key) + " = " + std::to_string(x) + " is out of range [" +
                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

std::vector<int64_t> ConfigObject::integers(const std::string& key, const std::vector<int64_t>& fallback, int64_t lo,
                                           int64_t hi) {
  const json* v = value(key);
  if (!v) return fallback;
  if (!v->is_array() || v->empty()) throw Error("config " + path(key) + ": expected a non-empty array of integers, found " + v->dump());
  std::vector<int64_t> out;
  for (const auto& x : *v) {
    if (!x.is_number_integer()) throw Error("config " + path(key) + ": expected integers, found " + x.dump());
    const int64_t i = x.get<int64_t>();
    if (i < lo || i > hi)
      throw Error("config " + path(key) + " holds " + std::to_string(i) + ", out of range [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
    out.push_back(i);
  }
  return out;
}

std::vector<double> ConfigObject::numbers(const std::string& key, const std::vector<double>& fallback, double lo, double hi) {
  const json* v = value(key);
  if (!v) return fallback;
  if (!v->is_array() || v->empty()) throw Error("config " + path(key) + ": expected a non-empty array of numbers, found " + v->dump());
  std::vector<double> out;
  for (const auto& x : *v) {
    if (!x.is_number()) throw Error("config " + path(key) + ": expected numbers, found " + x.dump());
    const double d = x.get<double>();
    if (!(d >= lo && d <= hi)) {
      std::ostringstream s;
      s << "config " << path(key) << " holds " << d << ", out of range [" << lo << ", " << hi << "]";
      throw Error(s.str());
    }
    out.push_back(d);
  }
  return out;
}

double ConfigObject::number(const std::string& key, double fallback, double lo, double hi) {
  const json* v = value(key);
  double x = fallback;
  if (v) {
    if (!v->is_number())
      throw Error("config " + path(key) + ": expected a number, found " + v->dump());
    x = v->get<double>();
  }
  if (!(x >= lo && x <= hi)) {
    std::ostringstream s;
    s << "config " << path(key) << " = " << x << " is out of range [" << lo << ", " << hi << "]";
    throw Error(s.str());
  }
  return x;
}

bool ConfigObject::boolean(const std::string& key, bool fallback) {
  const json* v = value(key);
  if (!v) return fallback;
  if (!v->is_boolean())
    throw Error("config " + path(key) + ": expected true or false, found " + v->dump());
  return v->get<bool>();
}

std::string ConfigObject::string(const std::string& key, const std::string& fallback) {
  const json* v = value(key);
  if (!v) return fallback;
  if (!v->is_string())
    throw Error("config " + path(key) + ": expected a string, found " + v->dump());
  return v->get<std::string>();
}

std::string ConfigObject::choice(const std::string& key, const std::string& fallback,
                                 const std::vector<std::string>& allowed) {
  std::string x = string(key, fallback);
  for (const auto& a : allowed)
    if (a == x) return x;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw Error("config " + path(key) + " = \"" + x + "\" is not one of: " + list);
}

json ConfigObject::object(const std::string& key) {
  const json* v = value(key);
  if (!v) return json::object();
  if (!v->is_object())
    throw Error("config " + path(key) + ": expected a JSON object, found " + v->dump());
  return *v;
}

void ConfigObject::finish() const {
  if (object_.is_null()) return;
  std::vector<std::string> known(read_.begin(), read_.end());
  for (const auto& item : object_.items()) {
    if (read_.count(item.key())) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw Error("config: unknown key '" + path(item.key()) + "' (known keys here: " + list + ")");
  }
}

void apply_override(json& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--set " + assignment + ": expected key=value, e.g. --set model.n_layer=4");
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  // Valid JSON (numbers, true/false, arrays) is taken as JSON, anything else as a string; a
  // number JSON cannot hold (1e999) is an error rather than a string.
  static const std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  if (!json::accept(text) && std::regex_match(text, number))
    throw Error("--set " + assignment + ": " + text + " is out of the range of a JSON number (a double)");
  const json value = json::accept(text) ? parse_json(text, "--set " + key) : json(text);
  json* node = &config;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw Error("--set " + assignment + ": empty key component in '" + key + "'");
    if (!node->is_object()) throw Error("--set " + assignment + ": '" + key.substr(0, start - 1) + "' is not an object");
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    node = &(*node)[part];
    if (node->is_null()) *node = json::object();
    start = dot + 1;
  }
}

void merge_json(json& base, const json& top) {
  for (const auto& item : top.items()) {
    if (item.value().is_object() && base.contains(item.key()) && base[item.key()].is_object())
      merge_json(base[item.key()], item.value());
    else
      base[item.key()] = item.value();
  }
}

namespace {
json read_config_chain(const std::string& path, std::vector<std::string>& chain) {
  namespace fs = std::filesystem;
  const std::string canonical = fs::weakly_canonical(path).string();
  for (const auto& seen : chain)
    if (seen == canonical) throw Error("config file " + path + " extends itself (through " + chain.front() + ")");
  if (chain.size() >= 16) throw Error("config file " + path + ": 'extends' chains deeper than 16 files");
  chain.push_back(canonical);
  json j = read_json_file(path);
  if (!j.is_object()) throw Error("config file " + path + ": expected a JSON object at the top level");
  if (!j.contains("extends")) return j;
  if (!j["extends"].is_string()) throw Error("config file " + path + ": 'extends' must be a file name (a string)");
  const fs::path base = fs::path(path).parent_path() / j["extends"].get<std::string>();
  if (!fs::exists(base)) throw Error("config file " + path + " extends " + base.string() + ", which does not exist");
  json resolved = read_config_chain(base.string(), chain);
  j.erase("extends");
  merge_json(resolved, j);
  return resolved;
}
}  // namespace

json read_config_file(const std::string& path) {
  std::vector<std::string> chain;
  return read_config_chain(path, chain);
}

void ConfigObject::require_divisible(const std::string& key, int64_t v, const std::string& by_key, int64_t d) const {
  if (d == 0 || v % d != 0)
    throw Error("config " + path(key) + " = " + std::to_string(v) + " must be divisible by " + by_key + " = " + std::to_string(d));
}

}  // namespace engram
