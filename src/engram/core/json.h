// Reading JSON that comes from outside engram (configs, tokenizers, metrics, checkpoint headers).
//
// Stricter than the JSON library alone, because input can be careless or hostile: nesting deeper
// than kMaxJsonDepth is refused (a deeply nested file would otherwise exhaust the stack in the
// recursive code that walks it), and so is a key given twice in one object (the library would
// silently keep the last, so a config could say two things at once).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace engram {

inline constexpr int kMaxJsonDepth = 128;

// Parses `text`; throws engram::Error "<source> is not valid JSON: <what, with line and column>".
nlohmann::json parse_json(std::string_view text, const std::string& source);

// Reads and parses a whole file; `what` names it in errors ("config file", "tokenizer", …).
nlohmann::json read_json_file(const std::string& path, const std::string& what = "config file");

}  // namespace engram
