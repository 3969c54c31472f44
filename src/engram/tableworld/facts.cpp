#include "engram/tableworld/facts.h"

namespace engram::tableworld {

const std::vector<std::string>& colours() {
  static const std::vector<std::string> c = {"red", "green", "blue", "yellow", "purple", "orange", "white", "black"};
  return c;
}

const std::vector<std::string>& shapes() {
  static const std::vector<std::string> s = {"cube", "ball", "cone", "ring"};
  return s;
}

const std::vector<Entity>& entities() {
  // Three per colour; the last of each three is in E_test.
  static const std::vector<Entity> e = [] {
    const char* names[8][3] = {{"strawberry", "tomato", "cherry"},  {"lime", "frog", "grass"},
                               {"sky", "sea", "blueberry"},         {"banana", "lemon", "sun"},
                               {"grape", "plum", "eggplant"},       {"carrot", "pumpkin", "tangerine"},
                               {"snow", "milk", "cloud"},           {"coal", "crow", "night"}};
    std::vector<Entity> out;
    for (int c = 0; c < 8; ++c)
      for (int k = 0; k < 3; ++k) out.push_back({names[c][k], c, k == 2});
    return out;
  }();
  return e;
}

const std::vector<std::string>& relations() {
  static const std::vector<std::string> r = {"left of", "right of", "above", "below", "near"};
  return r;
}

}  // namespace engram::tableworld
