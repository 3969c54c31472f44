#include "engram/core/text_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engram/core/error.h"

namespace engram {

std::string read_text_file(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error(what + " " + path + ": no such file");
  if (fs::is_directory(status)) throw Error(what + " " + path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(what + " " + path + ": cannot be opened (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(what + " " + path + ": cannot be read (" + std::strerror(errno) + ")");
  return buffer.str();
}

}  // namespace engram
