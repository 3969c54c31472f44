// Commands whose settings are a config struct (core/config.h): every field is also a flag, named
// after its key (eval_every → --eval-every) with the field's range as the check and its help as the
// help, and `--config FILE` / `--set key=value` set the same fields from a file. Precedence:
// defaults ← --config ← --set ← flags. A flag is only a typed `--set`, so one reader checks all.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_checks.h"
#include "engram/core/config.h"

namespace engram::cli {

// Visits a config's fields and adds one flag per field; a given flag records its value as JSON.
class FlagAdder {
 public:
  FlagAdder(CLI::App* app, std::shared_ptr<json> given) : app_(app), given_(std::move(given)) {}

  void tag(const std::string&, const std::string&) {}
  void field(const std::string& key, int64_t& x, int64_t lo, int64_t hi, const char* help = "") { number(key, x, lo, hi, help); }
  void field(const std::string& key, int& x, int64_t lo, int64_t hi, const char* help = "") { number(key, x, lo, hi, help); }
  void field(const std::string& key, uint64_t& x, int64_t lo, int64_t hi, const char* help = "") {
    number(key, x, static_cast<double>(lo), static_cast<double>(hi), help);
  }
  void field(const std::string& key, double& x, double lo, double hi, const char* help = "") { number(key, x, lo, hi, help); }
  void field(const std::string& key, std::vector<int64_t>& x, int64_t lo, int64_t hi, const char* help = "") {
    list(key, x, lo, hi, help);
  }
  void field(const std::string& key, std::vector<double>& x, double lo, double hi, const char* help = "") {
    list(key, x, lo, hi, help);
  }
  void field(const std::string& key, bool& x, const char* help = "") {
    auto given = given_;
    app_->add_flag_function("--" + flag(key) + ",!--no-" + flag(key), [given, key](int64_t n) { (*given)[key] = n > 0; },
                            std::string(help) + (x ? " (default: on)" : " (default: off)"));
  }
  void field(const std::string& key, std::string& x, const char* help = "") {
    auto given = given_;
    app_->add_option_function<std::string>("--" + flag(key), [given, key](const std::string& v) { (*given)[key] = v; }, help)
        ->default_str(x);
  }
  template <class T>
  void field(const std::string& key, T& x, const char* help = "") {
    static_assert(std::is_enum_v<T>, "nested configs have no flags; set them with --set a.b=value");
    auto given = given_;
    std::vector<std::string> words;
    for (const auto& entry : names_of(T{})) words.push_back(entry.first);
    app_->add_option_function<std::string>("--" + flag(key), [given, key](const std::string& v) { (*given)[key] = v; }, help)
        ->check(CLI::IsMember(words))
        ->default_str(name_of(x));
  }

 private:
  static std::string flag(std::string key) {
    for (char& c : key)
      if (c == '_') c = '-';
    return key;
  }
  template <class V>
  void number(const std::string& key, const V& x, double lo, double hi, const char* help) {
    auto given = given_;
    app_->add_option_function<V>("--" + flag(key), [given, key](const V& v) { (*given)[key] = v; }, help)
        ->check(between(lo, hi))
        ->default_str(json(x).dump());
  }
  template <class V>
  void list(const std::string& key, const std::vector<V>& x, double lo, double hi, const char* help) {
    auto given = given_;
    app_->add_option_function<std::vector<V>>("--" + flag(key), [given, key](const std::vector<V>& v) { (*given)[key] = v; }, help)
        ->delimiter(',')
        ->check(between(lo, hi))
        ->default_str(json(x).dump());
  }

  CLI::App* app_;
  std::shared_ptr<json> given_;
};

template <class T>
class ConfigFlags {
 public:
  // Adds --config, --set and a flag per field of T to `app`. Keep the object alive (a shared_ptr
  // captured by the command's action): the flags write into it while CLI11 parses.
  explicit ConfigFlags(CLI::App* app) {
    app->add_option("--config", file_, "settings from a JSON file ('extends' allowed); flags override it");
    app->add_option("--set", sets_, "override one setting, key=value (repeatable)");
    T prototype;
    FlagAdder adder(app, flags_);
    prototype.fields(adder);
  }

  // The settings given, as JSON (no defaults): the file, then --set, then flags.
  json given() const {
    json j = file_.empty() ? json::object() : read_config_file(file_);
    for (const auto& s : sets_) apply_override(j, s);
    merge_json(j, *flags_);
    return j;
  }
  // The settings, defaults filled in, every value checked.
  T resolve() const { return read_config<T>(given(), ""); }

 private:
  std::string file_;
  std::vector<std::string> sets_;
  std::shared_ptr<json> flags_ = std::make_shared<json>(json::object());
};

}  // namespace engram::cli
