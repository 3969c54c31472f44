// Palette images for watching episodes: a handful of flat colours, so a frame is one byte per pixel,
// PNG is lossless and a GIF needs no colour quantisation.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace engram {

enum PaletteColour : uint8_t {
  kBackground, kNeutral, kGreen, kBlue, kRed, kInk, kWhite, kGrid,
  kYellow, kPurple, kOrange, kBlack, kTable, kShadow, kUnused14, kUnused15
};
constexpr int kPaletteSize = 16;  // a power of two, as GIF colour tables must be
const std::array<std::array<uint8_t, 3>, kPaletteSize>& palette();

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // palette indices, row-major, top row first
  Image() = default;
  Image(int w, int h, uint8_t fill) : width(w), height(h), pixels(static_cast<size_t>(w) * h, fill) {}
  uint8_t& at(int x, int y) { return pixels[static_cast<size_t>(y) * width + x]; }
  uint8_t at(int x, int y) const { return pixels[static_cast<size_t>(y) * width + x]; }
};

// Frames side by side in rows of `columns`, separated by a 2-pixel gutter.
Image contact_sheet(const std::vector<Image>& frames, int columns);
// `count` frames evenly spaced from the first to the last, for a sheet of an episode.
std::vector<Image> evenly_spaced(const std::vector<Image>& frames, int count);

// Written to a temporary file and renamed; throws engram::Error naming the path on failure.
void write_png(const std::string& path, const Image& image);
// An animated GIF that loops forever; `delay_cs` is the time per frame in 1/100 s.
void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_cs);

}  // namespace engram
