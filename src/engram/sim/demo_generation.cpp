#include "engram/sim/demo_generation.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>

#include "engram/core/atomic_file.h"
#include "engram/core/error.h"
#include "engram/core/progress.h"
#include "engram/sim/demo_file.h"
#include "engram/sim/env.h"

namespace engram {

namespace fs = std::filesystem;

namespace {

nlohmann::json env_args(const World& world, const DemoOptions& o) {
  nlohmann::json args = world.describe();
  args.update({{"env_name", o.task}, {"obs_dim", world.obs_dim()}, {"action_dim", world.action_dim()},
               {"action_low", world.bounds().low}, {"action_high", world.bounds().high}, {"seed", o.seed},
               {"episodes", o.episodes}, {"styles", world.expert_styles()}, {"engram_version", ENGRAM_VERSION}});
  return args;
}

// A worker process: its episodes into its own part file, one byte on `report` per finished episode.
[[noreturn]] void worker(const World& world, const DemoOptions& o, const std::vector<int64_t>& mine, const std::string& part,
                         int report) {
  int status = 0;
  try {
    DemoWriter writer(part, env_args(world, o));
    const auto styles = world.expert_styles();
    for (int64_t e : mine) {
      const int s = episode_style(o.seed, e, static_cast<int>(styles.size()));
      writer.append(world.expert_episode(s, o.seed, e), styles[static_cast<size_t>(s)]);
      const char byte = 1;
      if (::write(report, &byte, 1) != 1) break;
    }
    writer.close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engram: worker %d: %s\n", static_cast<int>(::getpid()), e.what());
    status = 1;
  }
  ::_exit(status);  // no atexit handlers or static destructors of the parent's state
}

}  // namespace

DemoSummary generate_demos(const DemoOptions& o) {
  if (o.episodes < 1 || o.workers < 1) throw Error("sim demos: --episodes and --workers must be ≥ 1");
  // Refuse an output path that cannot take the file before an hour of generation, not after.
  if (fs::is_directory(o.out)) throw Error("sim demos: --out " + o.out + " is a directory; give a file name such as data.h5");
  const auto out_dir = fs::path(o.out).parent_path();
  if (!out_dir.empty() && !fs::is_directory(out_dir))
    throw Error("sim demos: the folder of --out " + o.out + " does not exist");
  const auto world = open_world(o.task);
  const auto styles = world->expert_styles();
  const auto args = env_args(*world, o);
  const fs::path parts = o.out + ".parts";
  fs::create_directories(parts);

  // Resume: episodes already in readable part files (from this same configuration) are kept.
  std::set<int64_t> have;
  for (const auto& entry : fs::directory_iterator(parts)) {
    try {
      const auto part = read_demos(entry.path().string());
      for (const char* key : {"env_name", "seed", "episodes", "obs_dim", "action_dim", "styles"})
        if (part.env_args.value(key, nlohmann::json()) != args[key])
          throw Error(entry.path().string() + " was written with a different " + key + " (" +
                      part.env_args.value(key, nlohmann::json()).dump() + " vs " + args[key].dump() +
                      "); remove " + parts.string() + " or use another --out");
      for (const auto& ep : part.episodes) have.insert(ep.index);
    } catch (const Error& e) {
      if (std::string(e.what()).find("was written with a different") != std::string::npos) throw;
      std::fprintf(stderr, "engram: discarding unreadable part %s (%s)\n", entry.path().c_str(), e.what());
      fs::remove(entry.path());
    }
  }
  std::vector<int64_t> todo;
  for (int64_t e = 0; e < o.episodes; ++e)
    if (!have.count(e)) todo.push_back(e);

  if (!todo.empty()) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) throw Error("sim demos: cannot create a pipe for worker progress");
    const int workers = static_cast<int>(std::min<int64_t>(o.workers, static_cast<int64_t>(todo.size())));
    std::vector<pid_t> pids;
    std::fflush(nullptr);
    for (int w = 0; w < workers; ++w) {
      std::vector<int64_t> mine;
      for (size_t i = static_cast<size_t>(w); i < todo.size(); i += static_cast<size_t>(workers)) mine.push_back(todo[i]);
      const std::string part = (parts / ("part-" + std::to_string(todo[static_cast<size_t>(w)]) + "-" +
                                         std::to_string(::getpid()) + ".h5")).string();
      const pid_t pid = ::fork();
      if (pid < 0) {
        for (pid_t p : pids) ::kill(p, SIGTERM), ::waitpid(p, nullptr, 0);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        throw Error("sim demos: fork failed; the episodes already written are kept in " + parts.string());
      }
      if (pid == 0) {
        ::close(pipe_fds[0]);
        worker(*world, o, mine, part, pipe_fds[1]);
      }
      pids.push_back(pid);
    }
    ::close(pipe_fds[1]);
    Progress bar("demos " + o.task, o.episodes, static_cast<int64_t>(have.size()));
    int64_t done = static_cast<int64_t>(have.size());
    char buf[64];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof(buf))) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      done += n;
      if (o.progress) bar.update(done, std::to_string(workers) + " workers");
    }
    ::close(pipe_fds[0]);
    int failed = 0;
    for (pid_t pid : pids) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
    }
    if (o.progress) bar.finish(std::to_string(done) + " episodes");
    if (failed)
      throw Error("sim demos: " + std::to_string(failed) + " worker(s) failed; the episodes already written are kept in " +
                  parts.string() + " — rerun the same command to finish");
  }

  // Merge every part into the final file (temporary name, then rename).
  std::vector<std::pair<Episode, std::string>> all;
  for (const auto& entry : fs::directory_iterator(parts)) {
    auto part = read_demos(entry.path().string());
    const auto names = part.env_args["styles"];
    for (auto& ep : part.episodes) {
      const std::string style = names.at(static_cast<size_t>(ep.style)).get<std::string>();
      all.emplace_back(std::move(ep), style);
    }
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first.index < b.first.index; });
  DemoSummary summary;
  summary.per_style.assign(styles.size(), 0);
  summary.per_style_success.assign(styles.size(), 0);
  remove_stale_temporaries(o.out);
  const std::string tmp = o.out + ".tmp-" + std::to_string(::getpid());
  try {
    DemoWriter writer(tmp, args);
    int64_t expect = 0;
    for (const auto& [ep, style] : all) {
      if (ep.index != expect) throw Error("sim demos: episode " + std::to_string(expect) + " is missing from " + parts.string());
      ++expect;
      writer.append(ep, style);
      summary.transitions += ep.length();
      summary.successes += ep.success;
      summary.per_style[static_cast<size_t>(ep.style)]++;
      summary.per_style_success[static_cast<size_t>(ep.style)] += ep.success;
    }
    writer.close();
    summary.episodes = expect;
    read_demos(tmp);  // the merged file must read back before it replaces anything
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, o.out);
  fs::remove_all(parts);
  return summary;
}

}  // namespace engram
