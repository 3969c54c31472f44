// A one-line progress bar on stderr: step, bar, caller's fields (loss, tokens/s) and ETA.
// On a terminal it redraws in place; in a log file it prints a line every few seconds instead.
#pragma once

#include <chrono>
#include <string>

namespace engram {

class Progress {
 public:
  Progress(std::string label, int64_t total, int64_t start = 0);
  // `fields` is free text such as "loss 3.21 | 5.4k tok/s".
  void update(int64_t done, const std::string& fields);
  // Ends the line (prints the final state once).
  void finish(const std::string& fields);

 private:
  void draw(int64_t done, const std::string& fields, bool final);
  std::string label_;
  int64_t total_, start_;
  bool tty_;
  std::chrono::steady_clock::time_point t0_, last_;
};

// "1.2k", "3.4M": short counts for progress lines and tables.
std::string human_count(double x);
// "42s", "3m05s", "1h02m".
std::string human_duration(double seconds);

}  // namespace engram
