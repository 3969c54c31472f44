// Configs: JSON objects read into plain structs, with every key known and every value checked.
//
// A config struct reads itself with a ConfigObject:
//
//   ConfigObject c(json, "model");
//   n_layer = c.integer("n_layer", 4, 1, 64);
//   c.finish();            // throws naming any key nobody asked for
//
// Errors name the full dotted path ("model.n_layer = 0 is out of range [1, 64]"), so a user can
// find the line in their file or the --set that caused it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/core/json.h"  // read_json_file, for every config reader

namespace engram {

using json = nlohmann::json;

class ConfigObject {
 public:
  // `where` is the dotted path of this object ("" for the top level).
  ConfigObject(const json& object, std::string where);

  int64_t integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi);
  // A non-empty array of integers, each in [lo, hi].
  std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& fallback, int64_t lo, int64_t hi);
  double number(const std::string& key, double fallback, double lo, double hi);
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key, const std::string& fallback);
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  // A nested object; an empty one when the key is absent.
  json object(const std::string& key);
  bool has(const std::string& key) const { return object_.contains(key); }

  // Throws if the object holds keys that were never read.
  void finish() const;

  std::string path(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }
  // Throws "config <key> = v must be divisible by <by_key> = d" unless d divides v (head sizes).
  void require_divisible(const std::string& key, int64_t v, const std::string& by_key, int64_t d) const;

 private:
  const json* value(const std::string& key);

  const json& object_;
  std::string where_;
  std::set<std::string> read_;
};

// Applies one `--set a.b.c=value` override. The value is parsed as JSON when it is valid JSON
// (numbers, true/false, arrays) and taken as a string otherwise. Intermediate objects are created;
// whether the key exists is checked later, by the config that reads it.
void apply_override(json& config, const std::string& assignment);

// Overlays `top` on `base`, object by object (a resumed run's saved config under its overrides).
void merge_json(json& base, const json& top);

// A config file with its "extends" resolved: {"extends": "base.json", …} reads base.json (a path
// relative to this file's folder) first and overlays this file's other keys on it, object by
// object, so a config holds only what differs. Chains may be 16 files deep; a cycle is an error.
json read_config_file(const std::string& path);

}  // namespace engram
