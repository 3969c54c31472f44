#include "engram/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <filesystem>

#include "engram/core/error.h"
#include "engram/core/process.h"

namespace engram {

void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string name = target.filename().string();
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    if (entry.size() <= name.size() || entry.compare(0, name.size(), name) != 0) continue;
    // Exactly "<name>.tmp-<pid>" (atomic writes, plots) or "<name>.plot-<pid>.{py,json,err}" (the
    // plotter of earlier versions): a user's "notes.json.tmp-2024-old" is not ours.
    std::string rest = entry.substr(name.size()), tail;
    if (rest.rfind(".tmp-", 0) == 0) rest = rest.substr(5);
    else if (rest.rfind(".plot-", 0) == 0) rest = rest.substr(6), tail = "plot";
    else continue;
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 0 || digits > 9) continue;
    const std::string suffix = rest.substr(digits);
    if (tail.empty() ? !suffix.empty() : (suffix != ".py" && suffix != ".json" && suffix != ".err")) continue;
    std::error_code ignored;  // another process may have removed it first
    if (!process_alive(std::stol(rest.substr(0, digits)))) fs::remove(it->path(), ignored);
  }
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  remove_stale_temporaries(path);
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error("cannot write " + path + ": " + std::strerror(errno));
      write(out);
      out.flush();
      if (!out) throw Error("cannot write " + path + ": " + std::strerror(errno) + " (disk full?)");
    }
    // fsync so that the rename can never publish a file whose bytes are still only in the page cache.
    const int fd = ::open(tmp.c_str(), O_RDONLY);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

}  // namespace engram
