#include "engram/core/config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "engram/core/error.h"
#include "engram/seq/model.h"
#include "engram/train/experiment.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

using testing::error_of;

TEST(Config, ReadsValuesAndDefaults) {
  json j = {{"n", 3}, {"x", 0.5}, {"flag", true}, {"name", "rotary"}};
  ConfigObject c(j, "model");
  EXPECT_EQ(c.integer("n", 1, 1, 10), 3);
  EXPECT_EQ(c.integer("absent", 7, 1, 10), 7);
  EXPECT_DOUBLE_EQ(c.number("x", 0, 0, 1), 0.5);
  EXPECT_TRUE(c.boolean("flag", false));
  EXPECT_EQ(c.choice("name", "learned", {"learned", "rotary"}), "rotary");
  EXPECT_NO_THROW(c.finish());
}

TEST(Config, RejectsUnknownKeyByName) {
  json j = {{"n_layer", 2}, {"n_layr", 3}};
  ConfigObject c(j, "model");
  c.integer("n_layer", 1, 1, 10);
  const std::string msg = error_of([&] { c.finish(); });
  EXPECT_NE(msg.find("unknown key 'model.n_layr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("n_layer"), std::string::npos) << "should list the known keys: " << msg;
}

TEST(Config, RejectsOutOfRangeAndWrongTypes) {
  json j = {{"n", 0}, {"x", "big"}, {"name", "alibi"}};
  ConfigObject c(j, "model");
  EXPECT_NE(error_of([&] { c.integer("n", 1, 1, 10); }).find("model.n = 0 is out of range [1, 10]"), std::string::npos);
  EXPECT_NE(error_of([&] { c.number("x", 1, 0, 2); }).find("model.x: expected a number"), std::string::npos);
  EXPECT_NE(error_of([&] { c.choice("name", "learned", {"learned", "rotary"}); }).find("not one of: learned, rotary"),
            std::string::npos);
}

// A config declared once: the same `fields` reads (with defaults and ranges), writes, and nests.
enum class Shade { kLight, kDark };
const Names<Shade>& names_of(Shade) {
  static const Names<Shade> names = {{"light", Shade::kLight}, {"dark", Shade::kDark}};
  return names;
}
struct Inner {
  int64_t n = 2;
  template <class F>
  void fields(F& f) { f.field("n", n, 1, 5); }
};
struct Outer {
  int64_t steps = 10;
  double lr = 0.5;
  Shade shade = Shade::kLight;
  std::vector<int64_t> lengths = {1, 2};
  Inner inner;
  template <class F>
  void fields(F& f) {
    f.tag("type", "outer");
    f.field("steps", steps, 1, 100);
    f.field("lr", lr, 0.0, 1.0);
    f.field("shade", shade);
    f.field("lengths", lengths, 1, 9);
    f.field("inner", inner);
  }
};

TEST(Config, FieldsDeclaredOnceReadWriteAndCheck) {
  const auto defaults = read_config<Outer>(json::object(), "x");
  EXPECT_EQ(write_config(defaults), json::parse(R"({"type": "outer", "steps": 10, "lr": 0.5, "shade": "light",
                                                   "lengths": [1, 2], "inner": {"n": 2}})"));
  const json given = json::parse(R"({"type": "outer", "steps": 3, "lr": 0.25, "shade": "dark", "lengths": [4],
                                     "inner": {"n": 5}})");
  const auto o = read_config<Outer>(given, "x");
  EXPECT_EQ(o.shade, Shade::kDark);
  EXPECT_EQ(o.inner.n, 5);
  EXPECT_EQ(write_config(o), given);  // what is written reads back to the same
  EXPECT_EQ(error_of([] { read_config<Outer>({{"shade", "grey"}}, "x"); }), "config x.shade = \"grey\" is not one of: light, dark");
  EXPECT_EQ(error_of([] { read_config<Outer>({{"inner", {{"n", 6}}}}, "x"); }), "config x.inner.n = 6 is out of range [1, 5]");
  EXPECT_NE(error_of([] { read_config<Outer>({{"inner", {{"m", 1}}}}, "x"); }).find("unknown key 'x.inner.m'"), std::string::npos);
  EXPECT_NE(error_of([] { read_config<Outer>({{"type", "other"}}, "x"); }).find("not one of: outer"), std::string::npos);
}

// Every model and task config writes what it reads: a run's saved config.json resumes the same model.
TEST(Config, ModelAndTaskConfigsRoundTrip) {
  for (const json& model : {json{{"type", "mosaic"}, {"ffn", "mlp"}, {"leaky_average", "matrix"}, {"value_mix", "shift"}},
                            json{{"type", "atlas"}, {"memory", "linear"}, {"feature_map", "identity"}, {"optimizer", "gd"},
                                 {"mode", "P"}, {"objective", "dot"}, {"retention", "none"}},
                            json{{"type", "transformer"}, {"positions", "rotary"}}, json{{"type", "lstm"}}}) {
    SCOPED_TRACE(model.dump());
    json m = model;
    m["vocab_size"] = 64;
    const json resolved = resolve_model_config(m, "model");
    for (const auto& [key, value] : m.items()) EXPECT_EQ(resolved[key], value) << key;
    EXPECT_EQ(resolve_model_config(resolved, "model"), resolved);
  }
}

TEST(Config, NaNIsOutOfRange) {
  json j = {{"lr", std::nan("")}};
  ConfigObject c(j, "train");
  EXPECT_THROW(c.number("lr", 1e-3, 0, 1), Error);
}

TEST(Config, OverridesParseJsonValuesAndCreatePaths) {
  json j = json::object();
  apply_override(j, "model.n_layer=4");
  apply_override(j, "model.positions=rotary");
  apply_override(j, "train.lr=3e-4");
  apply_override(j, "model.bias=false");
  EXPECT_EQ(j["model"]["n_layer"], 4);
  EXPECT_EQ(j["model"]["positions"], "rotary");
  EXPECT_DOUBLE_EQ(j["train"]["lr"].get<double>(), 3e-4);
  EXPECT_EQ(j["model"]["bias"], false);
  EXPECT_THROW(apply_override(j, "novalue"), Error);
  EXPECT_THROW(apply_override(j, "model..x=1"), Error);
  EXPECT_THROW(apply_override(j, "model.n_layer.x=1"), Error);  // n_layer is a number, not an object
}

TEST(Config, MalformedFileNamesFileAndPosition) {
  testing::TempDir dir;
  const auto path = dir.write("bad.json", "{\"model\": {\"n_layer\": 2,}}");
  const std::string msg = error_of([&] { read_json_file(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { read_json_file(dir.file("missing.json")); }).find("no such file"), std::string::npos);
}

TEST(Config, ExperimentRejectsUnknownTopLevelAndNestedKeys) {
  json j = {{"data", {{"train", "x.txt"}}}, {"trian", json::object()}};
  EXPECT_NE(error_of([&] { ExperimentConfig::from_json(j); }).find("unknown key 'trian'"), std::string::npos);
  j = {{"data", {{"train", "x.txt"}}}, {"train", {{"stepz", 3}}}};
  EXPECT_NE(error_of([&] { ExperimentConfig::from_json(j); }).find("unknown key 'train.stepz'"), std::string::npos);
  j = {{"data", {{"train", "x.txt"}}}, {"train", {{"lr", 1e-3}, {"min_lr", 1e-2}}}};
  EXPECT_NE(error_of([&] { ExperimentConfig::from_json(j); }).find("min_lr"), std::string::npos);
}

TEST(Config, HeadCountMustDivideTheWidthInEveryModel) {
  for (const char* type : {"transformer", "mosaic"}) {
    const auto msg = error_of([&] { make_model({{"type", type}, {"vocab_size", 10}, {"n_embd", 30}, {"n_head", 4}}); });
    EXPECT_NE(msg.find("config model.n_embd = 30 must be divisible by n_head = 4"), std::string::npos) << type << ": " << msg;
  }
}

TEST(Config, ExtendsOverlaysAFileOnItsBase) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("base"));
  dir.write("base/common.json", R"({"train": {"steps": 10, "lr": 0.1}, "task": {"name": "mqar"}})");
  dir.write("a.json", R"({"extends": "base/common.json", "model": {"type": "atlas", "n_layer": 2}})");
  dir.write("b.json", R"({"extends": "a.json", "model": {"n_layer": 3}, "train": {"lr": 0.2}})");
  const json b = read_config_file(dir.file("b.json"));
  EXPECT_EQ(b, json::parse(R"({"train": {"steps": 10, "lr": 0.2}, "task": {"name": "mqar"},
                                "model": {"type": "atlas", "n_layer": 3}})"));
  dir.write("loop1.json", R"({"extends": "loop2.json"})");
  dir.write("loop2.json", R"({"extends": "loop1.json"})");
  EXPECT_NE(error_of([&] { read_config_file(dir.file("loop1.json")); }).find("extends itself"), std::string::npos);
  dir.write("lost.json", R"({"extends": "nowhere.json"})");
  EXPECT_NE(error_of([&] { read_config_file(dir.file("lost.json")); }).find("nowhere.json, which does not exist"), std::string::npos);
  dir.write("bad.json", R"({"extends": 3})");
  EXPECT_NE(error_of([&] { read_config_file(dir.file("bad.json")); }).find("'extends' must be a file name"), std::string::npos);
}

// Every experiment config the project ships resolves and passes validation (model configs too).
TEST(Config, EveryShippedConfigLoads) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ENGRAM_SOURCE_DIR "/configs")) {
    const std::string path = entry.path().string(), name = entry.path().filename().string();
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(name);
    const json config = read_config_file(path);
    if (name.rfind("bench-", 0) == 0) {
      EXPECT_TRUE(config.contains("model"));
      continue;
    }
    const auto e = ExperimentConfig::from_json(config);
    auto model = e.model;
    if (!model.contains("vocab_size")) model["vocab_size"] = 256;
    EXPECT_NO_THROW(resolve_model_config(model, "model"));
    ++checked;
  }
  EXPECT_GT(checked, 30);
}

}  // namespace
}  // namespace engram
