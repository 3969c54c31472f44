#include "engram/tableworld/scene.h"

#include <cmath>
#include <random>

#include "engram/core/error.h"
#include "engram/tableworld/facts.h"
#include "engram/tableworld/lm_corpus.h"
#include "engram/tableworld/vocabulary.h"

namespace engram::tableworld {

Scene sample_scene(uint64_t seed, Split split) {
  std::mt19937_64 rng(seed ^ 0x7AB1E5CE4Eull);
  std::uniform_real_distribution<double> place(-0.8, 0.8), unit(0.0, 1.0);
  Scene s;
  s.start_x = place(rng);
  s.start_y = place(rng);
  std::vector<int> colours(tableworld::colours().size());
  for (size_t c = 0; c < colours.size(); ++c) colours[c] = static_cast<int>(c);
  std::shuffle(colours.begin(), colours.end(), rng);
  for (int k = 0; k < kObjects; ++k) {
    auto& o = s.objects[static_cast<size_t>(k)];
    o.colour = colours[static_cast<size_t>(k)];
    o.shape = std::uniform_int_distribution<int>(0, static_cast<int>(shapes().size()) - 1)(rng);
    // Rejection sampling: ≥ 0.35 from the other objects, ≥ 0.3 from the start (always succeeds
    // quickly: three discs of radius 0.175 cover little of the 1.6 × 1.6 square).
    for (bool ok = false; !ok;) {
      o.x = place(rng);
      o.y = place(rng);
      ok = std::hypot(o.x - s.start_x, o.y - s.start_y) >= 0.3;
      for (int j = 0; j < k && ok; ++j)
        ok = std::hypot(o.x - s.objects[static_cast<size_t>(j)].x, o.y - s.objects[static_cast<size_t>(j)].y) >= 0.35;
    }
  }
  s.target = std::uniform_int_distribution<int>(0, kObjects - 1)(rng);
  const Object& target = s.objects[static_cast<size_t>(s.target)];
  s.knowledge = split == Split::kKnownEntities || split == Split::kNovelEntities ||
                (split == Split::kTraining && unit(rng) < 0.4);
  if (!s.knowledge) {
    s.instruction = direct_instruction(target.colour, target.shape, unit(rng) < 0.5);
  } else {
    std::vector<const Entity*> candidates;
    for (const auto& e : entities())
      if (e.colour == target.colour && e.test == (split == Split::kNovelEntities)) candidates.push_back(&e);
    const auto pick = std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng);
    s.instruction = knowledge_instruction(*candidates[pick]);
  }
  return s;
}

std::vector<double> observation(const Scene& scene, double px, double py, double vx, double vy) {
  static const Vocabulary vocabulary;
  std::vector<double> obs = {px, py, vx, vy};
  for (const auto& o : scene.objects) obs.insert(obs.end(), {static_cast<double>(o.colour), static_cast<double>(o.shape), o.x, o.y});
  const auto ids = vocabulary.encode(scene.instruction, "instruction");
  if (ids.size() > static_cast<size_t>(kInstructionWords))
    throw Error("TableWorld: the instruction '" + scene.instruction + "' has more than " + std::to_string(kInstructionWords) + " words");
  for (int i = 0; i < kInstructionWords; ++i)
    obs.push_back(i < static_cast<int>(ids.size()) ? static_cast<double>(ids[static_cast<size_t>(i)]) : static_cast<double>(vocabulary.pad()));
  return obs;
}

}  // namespace engram::tableworld
