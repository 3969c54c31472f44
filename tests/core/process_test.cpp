// Running programs without a shell, and leaving no orphan when the parent dies.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "engram/core/error.h"
#include "engram/core/process.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

TEST(Process, ArgumentsReachTheProgramLiterally) {
  testing::TempDir dir;
  const std::string hostile = "a b'; touch " + dir.file("INJECTED") + "; echo '$(id) `id` > " + dir.file("v");
  ProcessOptions o;
  o.capture_stdout = true;
  const auto r = run_process({"/usr/bin/printf", "%s", hostile}, o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, hostile);
  EXPECT_FALSE(std::filesystem::exists(dir.file("INJECTED")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("v")));
}

TEST(Process, ExitCodesStdinAndStderr) {
  ProcessOptions o;
  o.capture_stdout = true;
  o.stdin_text = "line one\nline two\n";
  auto r = run_process({"/usr/bin/wc", "-l"}, o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(std::stoi(r.out), 2);
  r = run_process({"/bin/ls", "/no/such/path/for/engram"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/no/such/path/for/engram"), std::string::npos) << r.err;
  r = run_process({"/no/such/program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("cannot execute /no/such/program"), std::string::npos) << r.err;
  EXPECT_THROW(run_process({}), Error);
}

TEST(Process, ChildDiesWithAParentKilledByKill9) {
  testing::TempDir dir;
  const std::string pid_file = dir.file("child.pid");
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {  // stands in for engram: starts a long child and waits for it
    run_process({"/bin/sh", "-c", "echo $$ > " + pid_file + ".tmp && mv " + pid_file + ".tmp " + pid_file + " && exec sleep 60"});
    ::_exit(0);
  }
  long child = 0;
  for (int i = 0; i < 500 && child == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (std::filesystem::exists(pid_file)) child = std::stol(testing::read_file(pid_file));
  }
  ASSERT_GT(child, 0) << "the child never started";
  EXPECT_TRUE(process_alive(child));
  ::kill(parent, SIGKILL);
  ::waitpid(parent, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // The orphan is reparented to init and reaped there; a zombie in /proc still counts as gone.
    const std::string stat = testing::read_file("/proc/" + std::to_string(child) + "/stat");
    gone = stat.empty() || stat.find(") Z") != std::string::npos;
  }
  EXPECT_TRUE(gone) << "sleep " << child << " outlived its parent";
  if (!gone) ::kill(static_cast<pid_t>(child), SIGKILL);
}

}  // namespace
}  // namespace engram
