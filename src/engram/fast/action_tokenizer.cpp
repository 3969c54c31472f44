#include "engram/fast/action_tokenizer.h"

#include <cmath>

#include "engram/core/atomic_file.h"
#include "engram/core/error.h"
#include "engram/core/json.h"
#include "engram/fast/bin_tokenizer.h"
#include "engram/fast/fast_tokenizer.h"

namespace engram {

void ActionTokenizer::save(const std::string& path) const { write_text_atomically(path, to_json().dump(1) + "\n"); }

void check_chunks_to_fit(const std::vector<double>& chunks, int64_t H, int64_t D, const std::string& who) {
  if (H < 1 || D < 1) throw Error(who + ": horizon and action dimension must be ≥ 1");
  if (chunks.empty() || chunks.size() % static_cast<size_t>(H * D) != 0)
    throw Error(who + ": fitting needs whole chunks of " + std::to_string(H) + " × " + std::to_string(D) + " actions");
  for (double a : chunks)
    if (!std::isfinite(a)) throw Error(who + ": the chunks to fit hold a non-finite action");
}

int64_t tokenizer_integer(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi,
                          const std::function<Error(const std::string&)>& bad) {
  if (!j.contains(key) || !j[key].is_number_integer()) throw bad(std::string("'") + key + "' must be an integer");
  const auto v = j[key].get<int64_t>();
  if (v < lo || v > hi) throw bad(std::string("'") + key + "' = " + std::to_string(v) + " is out of range");
  return v;
}

std::shared_ptr<ActionTokenizer> action_tokenizer_from_json(const nlohmann::json& j, const std::string& where) {
  const std::string format = j.is_object() && j.contains("format") && j["format"].is_string() ? j["format"].get<std::string>() : "";
  if (format == FastTokenizer::kFormat) return std::make_shared<FastTokenizer>(FastTokenizer::from_json(j, where));
  if (format == BinTokenizer::kFormat) return std::make_shared<BinTokenizer>(BinTokenizer::from_json(j, where));
  throw Error(where + ": not an action tokenizer ('format' must be \"" + FastTokenizer::kFormat + "\" or \"" +
              BinTokenizer::kFormat + "\")");
}

std::shared_ptr<ActionTokenizer> load_action_tokenizer(const std::string& path) {
  return action_tokenizer_from_json(read_json_file(path, "action tokenizer"), path);
}

}  // namespace engram
