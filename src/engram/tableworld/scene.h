// A TableWorld-2D scene (KI spec §8.1): the agent's start on the table [−1, 1]², three objects of
// distinct colours and random shapes, which of them is the target, and the instruction naming it —
// directly ("go to the red cube", "reach the red thing") or through a fact ("go to the thing with the
// colour of the banana"). Everything follows from one seed.
//
// The policy's observation is one flat vector, so that TableWorld runs behind the same Env and
// FlowPolicy interfaces as the MuJoCo tasks:
//   [0, 4)    agent p_x, p_y, v_x, v_y
//   [4, 16)   per object: colour index, shape index, x, y
//   [16, 28)  the instruction's word ids in the TableWorld vocabulary, padded with <pad> (0)
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace engram::tableworld {

constexpr int kObjects = 3;
constexpr int kInstructionWords = 12;
constexpr int kObsDim = 4 + 4 * kObjects + kInstructionWords;

// Which instructions a scene draws (spec §8.1): robot data mixes 60 % direct and 40 % knowledge over
// E_train; evaluation uses one kind each, knowledge over E_test being facts known only from text.
enum class Split { kTraining, kDirect, kKnownEntities, kNovelEntities };

struct Object {
  int colour = 0, shape = 0;
  double x = 0, y = 0;
};

struct Scene {
  double start_x = 0, start_y = 0;
  std::array<Object, kObjects> objects;
  int target = 0;
  bool knowledge = false;      // the instruction names an entity, not a colour
  std::string instruction;
};

Scene sample_scene(uint64_t seed, Split split);

// The observation of the agent at (p, v) in `scene`; throws if the instruction has more than
// kInstructionWords words.
std::vector<double> observation(const Scene& scene, double px, double py, double vx, double vy);

}  // namespace engram::tableworld
