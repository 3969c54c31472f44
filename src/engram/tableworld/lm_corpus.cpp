#include "engram/tableworld/lm_corpus.h"

#include <algorithm>
#include <random>

#include "engram/core/error.h"

namespace engram::tableworld {

namespace {

std::vector<std::string> fact_paraphrases(const Entity& e) {
  const std::string& c = colours()[static_cast<size_t>(e.colour)];
  return {"the " + e.name + " is " + c + " .", c + " is the colour of the " + e.name + " .",
          "the colour of the " + e.name + " is " + c + " .", "a " + e.name + " is " + c + " .",
          fact_question(e) + " " + c + " ."};
}

size_t words(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), ' ')) + 1; }

}  // namespace

std::string fact_question(const Entity& e) { return "question : what colour is the " + e.name + " ? answer :"; }

std::string direct_instruction(int colour, int shape, bool name_shape) {
  const std::string& c = colours()[static_cast<size_t>(colour)];
  return name_shape ? "go to the " + c + " " + shapes()[static_cast<size_t>(shape)] : "reach the " + c + " thing";
}

std::string knowledge_instruction(const Entity& e) { return "go to the thing with the colour of the " + e.name; }

Corpus generate_corpus(const CorpusOptions& o) {
  if (!(o.held_out >= 0 && o.held_out < 1)) throw Error("TableWorld corpus: the held-out share must be in [0, 1)");
  std::mt19937_64 rng(o.seed);
  // Distinct sentences by kind; `kept` ones never go to the held-out set.
  std::vector<std::string> facts, kept, relations_, scenes, bridges;
  for (const auto& e : entities()) {
    auto p = fact_paraphrases(e);
    kept.push_back(p.back());
    facts.insert(facts.end(), p.begin(), p.end() - 1);
    bridges.push_back("the thing with the colour of the " + e.name + " is the " + colours()[static_cast<size_t>(e.colour)] +
                      " thing .");
  }
  for (const auto& a : entities())
    for (const auto& b : entities())
      if (&a != &b && a.colour == b.colour) relations_.push_back("the " + a.name + " and the " + b.name + " have the same colour .");
  for (size_t c1 = 0; c1 < colours().size(); ++c1)
    for (size_t s1 = 0; s1 < shapes().size(); ++s1)
      for (const auto& r : relations())
        for (size_t c2 = 0; c2 < colours().size(); ++c2)
          for (size_t s2 = 0; s2 < shapes().size(); ++s2)
            if (c1 != c2)
              scenes.push_back("the " + colours()[c1] + " " + shapes()[s1] + " is " + r + " the " + colours()[c2] + " " +
                               shapes()[s2] + " .");
  Corpus out;
  // Hold out the same share of each kind, so the held-out text looks like the training text.
  auto split = [&](std::vector<std::string>& pool) {
    std::shuffle(pool.begin(), pool.end(), rng);
    const auto n = static_cast<size_t>(o.held_out * static_cast<double>(pool.size()) + 0.5);
    out.held_out.insert(out.held_out.end(), pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(n));
    pool.erase(pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(n));
  };
  split(facts);
  split(relations_);
  split(scenes);
  if (o.bridging) split(bridges);
  facts.insert(facts.end(), kept.begin(), kept.end());
  // Training text: facts 40 %, same-colour relations 10 %, scenes the rest (10 % of it bridging).
  std::uniform_real_distribution<double> u(0, 1);
  size_t total = 0;
  while (total < static_cast<size_t>(o.train_tokens)) {
    const double r = u(rng);
    const auto& pool = r < 0.4 ? facts : r < 0.5 ? relations_ : (o.bridging && r < 0.6) ? bridges : scenes;
    out.train.push_back(pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)]);
    total += words(out.train.back());
  }
  return out;
}

}  // namespace engram::tableworld
