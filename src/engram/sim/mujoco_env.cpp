#include "engram/sim/mujoco_env.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "engram/core/error.h"
#include "engram/sim/render.h"

namespace engram {

namespace {

// Compiles an MJCF string through MuJoCo's in-memory file system (the struct is large: heap).
mjModel* compile(const std::string& xml, const std::string& name) {
  auto vfs = std::make_unique<mjVFS>();
  mj_defaultVFS(vfs.get());
  const std::string file = name + ".xml";
  if (mj_makeEmptyFileVFS(vfs.get(), file.c_str(), static_cast<int>(xml.size())) != 0)
    throw Error("task " + name + ": cannot stage its MJCF in MuJoCo's virtual file system");
  std::memcpy(vfs->filedata[mj_findFileVFS(vfs.get(), file.c_str())], xml.data(), xml.size());
  char error[1024] = "";
  mjModel* m = mj_loadXML(file.c_str(), vfs.get(), error, sizeof(error));
  mj_deleteVFS(vfs.get());
  if (!m) throw Error("task " + name + ": MuJoCo rejected its MJCF: " + error);
  return m;
}

bool starts_with(const char* s, const char* prefix) { return s && std::strncmp(s, prefix, std::strlen(prefix)) == 0; }

// MuJoCo's default warning handler appends to MUJOCO_LOG.TXT in the working directory. Divergence
// ("Nan, Inf or huge value in QACC …") is read from mjData and ends the episode, so its message is
// dropped; any other warning goes to stderr.
void warning_to_stderr(const char* message) {
  if (std::strncmp(message, "Nan, Inf or huge value", 22) != 0) std::fprintf(stderr, "mujoco: %s\n", message);
}

// MuJoCo counts non-finite or huge positions, velocities and accelerations, and resets the state
// (which also zeroes the counters before counting the new one) when it sees one.
constexpr int kDivergence[] = {mjWARN_BADQPOS, mjWARN_BADQVEL, mjWARN_BADQACC};

}  // namespace

SimModel::SimModel(std::unique_ptr<SimTask> task) : task_(std::move(task)) {
  static std::once_flag handler;
  std::call_once(handler, [] { mju_user_warning = warning_to_stderr; });

  model_ = compile(task_->mjcf(), task_->name());
  roles_.resize(static_cast<size_t>(model_->ngeom), kNeutral);
  for (int g = 0; g < model_->ngeom; ++g) {
    const char* name = mj_id2name(model_, mjOBJ_GEOM, g);
    if (starts_with(name, "green")) roles_[static_cast<size_t>(g)] = kGreen;
    if (starts_with(name, "blue")) roles_[static_cast<size_t>(g)] = kBlue;
    if (starts_with(name, "red")) roles_[static_cast<size_t>(g)] = kRed;
    if (green_ < 0 && roles_[static_cast<size_t>(g)] == kGreen) green_ = g;
    if (blue_ < 0 && roles_[static_cast<size_t>(g)] == kBlue) blue_ = g;
  }
  if (green_ < 0 || blue_ < 0) {
    mj_deleteModel(model_);
    throw Error("task " + task_->name() + ": its model needs a green and a blue geom");
  }
  bounds_ = task_->action_bounds();
  if (static_cast<int>(bounds_.low.size()) != model_->nu || static_cast<int>(bounds_.high.size()) != model_->nu) {
    mj_deleteModel(model_);
    throw Error("task " + task_->name() + ": action bounds do not match its " + std::to_string(model_->nu) + " actuators");
  }
}

SimModel::~SimModel() { mj_deleteModel(model_); }

int SimModel::contact_outcome(const mjData* d) const {
  bool blue = false;
  for (int i = 0; i < d->ncon; ++i) {
    const Role a = role(d->contact[i].geom1), b = role(d->contact[i].geom2);
    if (a != kGreen && b != kGreen) continue;
    const Role other = a == kGreen ? b : a;
    if (other == kRed) return -1;  // red wins over blue within one substep, as in Kinetix
    if (other == kBlue) blue = true;
  }
  return blue ? 1 : 0;
}

int SimModel::advance(mjData* d, const double* action) const {
  // mj_step leaves positions, contacts and velocities of bodies describing the state *before* its
  // integration. Integrating first (mj_step2) and then recomputing them (mj_step1) is the same
  // physics with everything derived from the new qpos/qvel: contacts are judged, observations read
  // and frames drawn on the state the step produced. Needs mj_forward after reset (Env does it).
  for (int k = 0; k < kFrameSkip; ++k) {
    for (int w : kDivergence) d->warning[w].number = 0;
    task_->apply(model_, d, action);
    mj_step2(model_, d);
    mj_step1(model_, d);
    for (int w : kDivergence)
      if (d->warning[w].number > 0) return kUnstable;
    if (int outcome = contact_outcome(d)) return outcome;
  }
  return 0;
}

std::array<double, 2> SimModel::green_position(const mjData* d) const {
  return {d->geom_xpos[3 * green_], d->geom_xpos[3 * green_ + 2]};
}

std::array<double, 2> SimModel::blue_position(const mjData* d) const {
  return {d->geom_xpos[3 * blue_], d->geom_xpos[3 * blue_ + 2]};
}

MujocoEnv::MujocoEnv(std::shared_ptr<const SimModel> model, double noise_std)
    : model_(std::move(model)), noise_std_(noise_std) {
  data_ = mj_makeData(model_->model());
  executed_.assign(static_cast<size_t>(model_->action_dim()), 0.0);
}

MujocoEnv::~MujocoEnv() { mj_deleteData(data_); }

std::vector<double> MujocoEnv::reset(uint64_t seed) {
  mj_resetData(model_->model(), data_);
  mj_forward(model_->model(), data_);
  // Decorrelate neighbouring seeds (splitmix64 finaliser) before seeding the noise stream.
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  noise_.seed(z ^ (z >> 31));
  steps_ = 0;
  done_ = false;
  std::fill(executed_.begin(), executed_.end(), 0.0);
  return observe();
}

StepResult MujocoEnv::step(const std::vector<double>& action) {
  const auto& name = model_->task().name();
  if (done_) throw Error("env " + name + ": step() after the episode ended; call reset() first");
  if (static_cast<int>(action.size()) != model_->action_dim())
    throw Error("env " + name + ": action has " + std::to_string(action.size()) + " dimensions, the task takes " +
                std::to_string(model_->action_dim()));
  for (size_t i = 0; i < action.size(); ++i)
    if (!std::isfinite(action[i]))
      throw Error("env " + name + ": action[" + std::to_string(i) + "] is not finite at step " + std::to_string(steps_));
  std::normal_distribution<double> normal(0.0, 1.0);
  const auto& bounds = model_->bounds();
  for (size_t i = 0; i < action.size(); ++i)
    executed_[i] = std::clamp(action[i] + noise_std_ * normal(noise_), bounds.low[i], bounds.high[i]);
  const int outcome = model_->advance(data_, executed_.data());
  ++steps_;
  StepResult r;
  r.unstable = outcome == SimModel::kUnstable;
  r.reward = outcome > 0 ? 1 : outcome < 0 ? -1 : 0;
  r.success = outcome > 0;
  r.done = outcome != 0 || steps_ >= SimModel::kMaxSteps;
  done_ = r.done;
  return r;
}

std::vector<double> MujocoEnv::observe() const {
  std::vector<double> obs(static_cast<size_t>(model_->obs_dim()));
  model_->task().observe(model_->model(), data_, obs.data());
  return obs;
}

Image MujocoEnv::render(int size) const { return render_frame(*model_, data_, size); }

EnvState MujocoEnv::save() const {
  const mjModel* m = model_->model();
  EnvState s;
  s.data = std::shared_ptr<mjData>(mj_makeData(m), mj_deleteData);
  mj_copyData(s.data.get(), m, data_);
  s.noise = noise_;
  s.steps = steps_;
  s.done = done_;
  return s;
}

void MujocoEnv::load(const EnvState& state) {
  if (!state.data) throw Error("env " + model_->task().name() + ": load() of an empty state");
  mj_copyData(data_, model_->model(), state.data.get());
  noise_ = state.noise;
  steps_ = state.steps;
  done_ = state.done;
}

}  // namespace engram
