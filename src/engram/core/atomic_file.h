// Writing a file so that readers see either the old file or the complete new one, never a part.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace engram {

// Calls `write` on a stream to "<path>.tmp-<pid>" in the same folder, flushes it to disk and renames
// it over `path`. On any failure (including an exception from `write`) the temporary file is
// removed, `path` is left as it was, and engram::Error is thrown naming the path.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

// Removes what processes that no longer exist left of their temporary copies of `path`
// ("<path>.tmp-<pid>…", and the plotter's "<path>.plot-<pid>…" of older versions), e.g. after
// kill -9. write_file_atomically and plot_lines call it first.
void remove_stale_temporaries(const std::string& path);

// Same, for a whole string.
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace engram
