// The knowledge of TableWorld-2D (KI spec §8.1): 8 colours, 4 shapes, and 24 entities each with a
// colour fact ("banana → yellow"), split 16 E_train / 8 E_test. E_test entities never appear in
// robot data; their colours are known only from the language corpus, which is what knowledge
// insulation must keep.
#pragma once

#include <string>
#include <vector>

namespace engram::tableworld {

struct Entity {
  std::string name;
  int colour = 0;       // index into colours()
  bool test = false;    // in E_test
};

const std::vector<std::string>& colours();
const std::vector<std::string>& shapes();
const std::vector<Entity>& entities();
// Spatial relations of scene sentences ("left of", …), as word sequences.
const std::vector<std::string>& relations();

}  // namespace engram::tableworld
