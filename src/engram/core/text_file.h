// Reading a whole input file, with errors that name it: missing, a directory, unreadable.
#pragma once

#include <string>

namespace engram {

// The bytes of `path`. `what` says what the file is for ("checkpoint", "tokenizer", "text file"):
// errors read "<what> <path>: is a directory, not a file", "… : no such file", and so on.
std::string read_text_file(const std::string& path, const std::string& what);

}  // namespace engram
