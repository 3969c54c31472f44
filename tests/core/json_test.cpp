// Strict JSON input: depth limit, duplicate keys, numbers JSON cannot hold.
#include <gtest/gtest.h>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/json.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

using testing::error_of;

std::string nested(int depth, char open, char close) { return std::string(depth, open) + std::string(depth, close); }

TEST(Json, DeepNestingIsAnErrorNotACrash) {
  EXPECT_NO_THROW(parse_json(nested(kMaxJsonDepth, '[', ']'), "x"));
  for (int depth : {kMaxJsonDepth + 1, 85000}) {
    const auto msg = error_of([&] { parse_json(nested(depth, '[', ']'), "config file deep.json"); });
    EXPECT_NE(msg.find("config file deep.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nested deeper than"), std::string::npos) << msg;
  }
  std::string objects;
  for (int i = 0; i < 85000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(85000, '}');
  EXPECT_NE(error_of([&] { parse_json(objects, "f"); }).find("nested deeper"), std::string::npos);
}

TEST(Json, DuplicateKeysAreRefusedWithTheirPath) {
  const auto msg = error_of([&] { parse_json(R"({"model": {"n_layer": 2, "n_embd": 8, "n_layer": 4}})", "config file c.json"); });
  EXPECT_NE(msg.find("config file c.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'model.n_layer' appears twice"), std::string::npos) << msg;
  // The same key in sibling objects, or in objects inside an array, is fine.
  EXPECT_NO_THROW(parse_json(R"({"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 1}, {"x": 2}]})", "f"));
  EXPECT_NE(error_of([&] { parse_json(R"({"c": [{"x": 1, "x": 2}]})", "f"); }).find("'c[].x' appears twice"), std::string::npos);
}

TEST(Json, SyntaxErrorsSayWhere) {
  const auto msg = error_of([&] { parse_json("{\"a\": 1,\n \"b\": }", "tokenizer t.json"); });
  EXPECT_EQ(msg.rfind("tokenizer t.json is not valid JSON: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;
}

TEST(Json, OverrideWithANumberJsonCannotHoldNamesTheKey) {
  json j = json::object();
  const auto msg = error_of([&] { apply_override(j, "model.n_embd=1e999"); });
  EXPECT_NE(msg.find("--set model.n_embd"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1e999"), std::string::npos) << msg;
  apply_override(j, "model.name=hello world");  // not JSON: a string
  EXPECT_EQ(j["model"]["name"], "hello world");
}

TEST(Json, FilesThatAreDirectoriesOrMissingAreNamed) {
  testing::TempDir dir;
  EXPECT_NE(error_of([&] { read_json_file(dir.path().string()); }).find("is a directory"), std::string::npos);
  EXPECT_NE(error_of([&] { read_json_file(dir.file("none.json"), "tokenizer"); }).find("tokenizer " + dir.file("none.json") + ": no such file"),
            std::string::npos);
}

}  // namespace
}  // namespace engram
