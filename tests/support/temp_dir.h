// A fresh temporary folder per test, removed afterwards.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace engram::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("engram-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& contents) const {
    std::ofstream(file(name), std::ios::binary) << contents;
    return file(name);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A small English-like corpus: enough structure for a tiny model to learn, generated deterministically.
inline std::string tiny_corpus(int sentences = 400) {
  const char* subjects[] = {"the cat", "a dog", "the bird", "my friend", "the old man", "a child"};
  const char* verbs[] = {"sees", "likes", "finds", "follows", "helps", "watches"};
  const char* objects[] = {"the ball", "a tree", "the river", "some bread", "the moon", "a little house"};
  std::mt19937 rng(7);
  std::string text;
  for (int i = 0; i < sentences; ++i) {
    text += std::string(subjects[rng() % 6]) + " " + verbs[rng() % 6] + " " + objects[rng() % 6] + ".";
    text += (i % 8 == 7) ? "\n" : " ";
  }
  return text;
}

}  // namespace engram::testing
