// Ctrl-C (SIGINT) and SIGTERM during a long job: instead of dying mid-step, the job notices at
// its next safe point, writes a checkpoint and says how to continue.
#pragma once

namespace engram {

// While alive, SIGINT and SIGTERM set a flag instead of ending the process; the handlers that were
// there before come back on destruction. One at a time.
class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  bool requested() const;
  const char* name() const;  // "interrupted (Ctrl-C)" or "terminated (SIGTERM)"
};

}  // namespace engram
