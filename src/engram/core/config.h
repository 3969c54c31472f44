// Configs: JSON objects read into plain structs, with every key known and every value checked.
//
// A config struct gives each field its default where it is declared, and names it once more, with
// its range (and, where a command exposes it as a flag, its help), in a `fields` template from which
// reading, range checks, writing and command-line flags (apps/config_flags.h) are all derived:
//
//   struct MosaicConfig {
//     int64_t n_layer = 4;
//     MosaicFfn ffn = MosaicFfn::kPmem;   // an option: a word in the file, an enum in the code
//     template <class F> void fields(F& f) {
//       f.tag("type", "mosaic");
//       f.field("n_layer", n_layer, 1, 256, "blocks");
//       f.field("ffn", ffn);
//     }
//   };
//   auto m = read_config<MosaicConfig>(json, "model");   // throws naming any unknown key
//   json j = write_config(m);
//
// Errors name the full dotted path ("model.n_layer = 0 is out of range [1, 64]"), so a user can
// find the line in their file or the --set that caused it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/core/error.h"
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
  std::vector<double> numbers(const std::string& key, const std::vector<double>& fallback, double lo, double hi);
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

// Options: each option enum E declares `const Names<E>& names_of(E);` beside itself, the words a
// config or a command line spells it with. Words are turned into enums here, at the boundary, and
// nothing below compares strings.
template <class E>
using Names = std::vector<std::pair<std::string, E>>;

// The enum a word names; throws "<what> = "word" is not one of: a, b, c" otherwise.
template <class E>
E parse_name(const std::string& word, const std::string& what) {
  std::string list;
  for (const auto& [name, value] : names_of(E{})) {
    if (name == word) return value;
    list += (list.empty() ? "" : ", ") + name;
  }
  throw Error(what + " = \"" + word + "\" is not one of: " + list);
}

template <class E>
const std::string& name_of(E value) {
  for (const auto& entry : names_of(E{}))
    if (entry.second == value) return entry.first;
  throw Error("an option value has no name (a names_of table is incomplete)");
}

// Whether T is a config struct (declares `fields` for the visitor F).
template <class T, class F, class = void>
struct has_fields : std::false_type {};
template <class T, class F>
struct has_fields<T, F, std::void_t<decltype(std::declval<T&>().fields(std::declval<F&>()))>> : std::true_type {};

// Reads the fields a config declares, range-checked, defaults where keys are absent.
class ConfigReader {
 public:
  ConfigReader(const json& object, std::string where) : object_(object, std::move(where)) {}

  // A key whose only allowed value is `value` ("type": "mosaic").
  void tag(const std::string& key, const std::string& value) { object_.choice(key, value, {value}); }
  // `help` is for command-line flags; reading ignores it.
  void field(const std::string& key, int64_t& x, int64_t lo, int64_t hi, const char* /*help*/ = "") {
    x = object_.integer(key, x, lo, hi);
  }
  void field(const std::string& key, int& x, int64_t lo, int64_t hi, const char* /*help*/ = "") {
    x = static_cast<int>(object_.integer(key, x, lo, hi));
  }
  void field(const std::string& key, uint64_t& x, int64_t lo, int64_t hi, const char* /*help*/ = "") {  // seeds
    x = static_cast<uint64_t>(object_.integer(key, static_cast<int64_t>(x), lo, hi));
  }
  void field(const std::string& key, double& x, double lo, double hi, const char* /*help*/ = "") {
    x = object_.number(key, x, lo, hi);
  }
  void field(const std::string& key, std::vector<int64_t>& x, int64_t lo, int64_t hi, const char* /*help*/ = "") {
    x = object_.integers(key, x, lo, hi);
  }
  void field(const std::string& key, std::vector<double>& x, double lo, double hi, const char* /*help*/ = "") {
    x = object_.numbers(key, x, lo, hi);
  }
  void field(const std::string& key, bool& x, const char* /*help*/ = "") { x = object_.boolean(key, x); }
  void field(const std::string& key, std::string& x, const char* /*help*/ = "") { x = object_.string(key, x); }
  // An option enum (by its names_of words), or a nested config struct with its own fields.
  template <class T>
  void field(const std::string& key, T& x, const char* /*help*/ = "") {
    if constexpr (std::is_enum_v<T>) {
      x = parse_name<T>(object_.string(key, name_of(x)), "config " + object_.path(key));
    } else {
      static_assert(has_fields<T, ConfigReader>::value, "a config field must be a number, bool, string, option or config");
      const json inner = object_.object(key);
      ConfigReader r(inner, object_.path(key));
      x.fields(r);
      r.finish();
    }
  }

  void finish() const { object_.finish(); }
  std::string path(const std::string& key) const { return object_.path(key); }
  void require_divisible(const std::string& key, int64_t v, const std::string& by_key, int64_t d) const {
    object_.require_divisible(key, v, by_key, d);
  }

 private:
  ConfigObject object_;
};

// Writes the fields a config declares, options by their words.
class ConfigWriter {
 public:
  void tag(const std::string& key, const std::string& value) { out[key] = value; }
  template <class T, class... Range>
  void field(const std::string& key, T& x, const Range&...) {
    if constexpr (std::is_enum_v<T>) out[key] = name_of(x);
    else if constexpr (has_fields<T, ConfigWriter>::value) {
      ConfigWriter inner;
      x.fields(inner);
      out[key] = inner.out;
    } else out[key] = x;
  }
  json out = json::object();
};

template <class T>
T read_config(const json& j, const std::string& where) {
  ConfigReader r(j, where);
  T x;
  x.fields(r);
  r.finish();
  return x;
}

template <class T>
json write_config(T x) {  // a copy: `fields` serves reading too, so it is not const
  ConfigWriter w;
  x.fields(w);
  return w.out;
}

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
