#include "engram/core/stop_signal.h"

#include <csignal>

namespace engram {

namespace {
volatile std::sig_atomic_t received = 0;
void on_signal(int sig) { received = sig; }
void (*previous_int)(int) = SIG_DFL;
void (*previous_term)(int) = SIG_DFL;
}  // namespace

StopSignal::StopSignal() {
  received = 0;
  previous_int = std::signal(SIGINT, on_signal);
  previous_term = std::signal(SIGTERM, on_signal);
  // A job started in the background (`engram train … &`) ignores Ctrl-C; it keeps doing so.
  if (previous_int == SIG_IGN) std::signal(SIGINT, SIG_IGN);
}

StopSignal::~StopSignal() {
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
}

bool StopSignal::requested() const { return received != 0; }

const char* StopSignal::name() const { return received == SIGTERM ? "terminated (SIGTERM)" : "interrupted (Ctrl-C)"; }

}  // namespace engram
