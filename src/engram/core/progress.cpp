#include "engram/core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace engram {

std::string human_count(double x) {
  char buf[32];
  if (x >= 1e9) std::snprintf(buf, sizeof buf, "%.1fG", x / 1e9);
  else if (x >= 1e6) std::snprintf(buf, sizeof buf, "%.1fM", x / 1e6);
  else if (x >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", x / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", x);
  return buf;
}

std::string human_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

Progress::Progress(std::string label, int64_t total, int64_t start)
    : label_(std::move(label)), total_(total), start_(start), tty_(::isatty(STDERR_FILENO)),
      t0_(std::chrono::steady_clock::now()), last_(t0_ - std::chrono::hours(1)) {}

void Progress::update(int64_t done, const std::string& fields) {
  if (done >= total_) return;  // finish() draws the last state
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (since < (tty_ ? 0.1 : 10.0)) return;
  last_ = now;
  draw(done, fields, false);
}

void Progress::finish(const std::string& fields) { draw(total_, fields, true); }

void Progress::draw(int64_t done, const std::string& fields, bool final) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  const double rate = (done - start_) / std::max(elapsed, 1e-9);
  const double eta = rate > 0 ? (total_ - done) / rate : 0;
  const int width = 24;
  const int filled = total_ > 0 ? static_cast<int>(width * done / total_) : width;
  std::string bar(filled, '#');
  bar += std::string(width - filled, '.');
  std::fprintf(stderr, "%s%s %6lld/%lld [%s] %s | %s %s%s", tty_ ? "\r\033[K" : "", label_.c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), bar.c_str(), fields.c_str(),
               final ? "took" : "eta", human_duration(final ? elapsed : eta).c_str(), (final || !tty_) ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace engram
