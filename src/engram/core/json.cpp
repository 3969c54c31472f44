#include "engram/core/json.h"

#include <set>
#include <vector>

#include "engram/core/error.h"
#include "engram/core/text_file.h"

namespace engram {

namespace {

// The open containers of the parse: an object's keys so far and the key being read.
struct Open {
  bool object;
  std::set<std::string> keys;
  std::string key;
};

std::string key_path(const std::vector<Open>& open) {
  std::string path;
  for (const auto& o : open) {
    if (!o.object) path += "[]";
    else if (!o.key.empty()) path += (path.empty() ? "" : ".") + o.key;
  }
  return path;
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& source) {
  using nlohmann::json;
  std::vector<Open> open;
  auto check = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth)
          throw Error(source + " is not valid JSON for engram: nested deeper than " + std::to_string(kMaxJsonDepth) +
                      " levels");
        open.push_back({event == json::parse_event_t::object_start, {}, {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key: {
        Open& o = open.back();
        o.key = parsed.get<std::string>();
        if (!o.keys.insert(o.key).second)
          throw Error(source + " is not valid JSON for engram: the key '" + key_path(open) +
                      "' appears twice (remove one)");
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    std::string what = e.what();
    if (what.rfind("[json.exception", 0) == 0 && what.find("] ") != std::string::npos) what = what.substr(what.find("] ") + 2);
    throw Error(source + " is not valid JSON: " + what);
  }
}

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  return parse_json(read_text_file(path, what), what + " " + path);
}

}  // namespace engram
