// The generated language corpus of TableWorld-2D (KI spec §8.1, the "web data"): every colour fact
// in five paraphrases (one of them the question form FactAcc scores), same-colour relations,
// random scene sentences and, optionally, bridging sentences that use the robot prompts' words
// ("the thing with the colour of the banana is the yellow thing ."). A disjoint 10 % of the
// distinct sentences is held out for the held-out NLL; the question form of every fact, for all 24
// entities, always stays in training.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engram/tableworld/facts.h"

namespace engram::tableworld {

struct CorpusOptions {
  uint64_t seed = 0;
  int64_t train_tokens = 150000;  // sentences are drawn until the training text holds this many words
  double held_out = 0.1;          // share of distinct sentences kept out of training
  bool bridging = false;
};

struct Corpus {
  std::vector<std::string> train;     // sentence instances, with repeats, in training order
  std::vector<std::string> held_out;  // distinct sentences never in `train`
};

Corpus generate_corpus(const CorpusOptions& options);

// "question : what colour is the banana ? answer :" — FactAcc's prompt; the answer is the colour.
std::string fact_question(const Entity& entity);
// Robot-data instructions: "go to the red cube" / "reach the yellow thing" (direct) and "go to the
// thing with the colour of the banana" (knowledge).
std::string direct_instruction(int colour, int shape, bool name_shape);
std::string knowledge_instruction(const Entity& entity);

}  // namespace engram::tableworld
