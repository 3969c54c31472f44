// Env and World: what demonstrations, playback, the delay harness and the real-time runner need of a
// task, whatever simulates it. A World describes a task and makes its environments; an Env runs one
// episode. The planar MuJoCo tasks (RTC spec §12) and TableWorld-2D (KI spec §8.1, plain C++) are
// the two kinds.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/sim/episode.h"
#include "engram/sim/image.h"

namespace engram {

struct ActionBounds {
  std::vector<double> low, high;  // the environment clips the executed action to these
};

struct StepResult {
  double reward = 0;  // +1 on success, −1 on failure, else 0 (Kinetix's reward per policy step)
  bool done = false;
  bool success = false;
  bool unstable = false;  // the physics diverged (MuJoCo reset a non-finite state): a failure
};

class Env {
 public:
  virtual ~Env() = default;
  // Starts an episode; the seed chooses everything random in it (noise, and for TableWorld the scene
  // and instruction). The same seed gives the same episode bit for bit.
  virtual std::vector<double> reset(uint64_t seed) = 0;
  // Validates the action (dimension, finite), executes it, steps. Throws engram::Error on a bad
  // action or when called after the episode ended.
  virtual StepResult step(const std::vector<double>& action) = 0;
  virtual std::vector<double> observe() const = 0;
  // The action the last step executed (after noise and clipping).
  virtual const std::vector<double>& executed_action() const = 0;
  virtual int steps() const = 0;
  virtual bool done() const = 0;
  virtual Image render(int size) const = 0;
};

class World {
 public:
  virtual ~World() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  virtual int obs_dim() const = 0;
  virtual int action_dim() const = 0;
  virtual const ActionBounds& bounds() const = 0;
  virtual int max_steps() const = 0;
  // What a demonstration file records about the task: type, noise, control rate, episode limit.
  virtual nlohmann::json describe() const = 0;
  virtual std::unique_ptr<Env> make_env() const = 0;

  // The scripted expert's styles (each a visibly different behaviour, so demonstrations are
  // multimodal) and one expert episode: episode `index` of a dataset with `seed`. `on_step`
  // (optional) sees the environment after reset and after every step, e.g. to render frames.
  virtual std::vector<std::string> expert_styles() const = 0;
  virtual Episode expert_episode(int style, uint64_t seed, int64_t index,
                                 const std::function<void(const Env&)>& on_step = {}) const = 0;
};

// Records an episode from `env`, already reset with first observation `obs`: `act` gives the clean
// action for an observation (the label), the environment executes it; `on_step` (optional) sees the
// environment now and after every step. Fills the trajectory, index, style and dimensions.
Episode record_episode(Env& env, std::vector<double> obs, int64_t index, int style, int action_dim,
                       const std::function<std::vector<double>(const std::vector<double>& obs)>& act,
                       const std::function<void(const Env&)>& on_step);

// Every task by name ("slalom", …, "tableworld", …); an unknown name is an Error listing them.
std::shared_ptr<const World> open_world(const std::string& name);
std::vector<std::string> world_names();

}  // namespace engram
