#include "engram/sim/image.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include <gif_lib.h>
#include <png.h>
#include <unistd.h>

#include "engram/core/error.h"

namespace engram {

const std::array<std::array<uint8_t, 3>, kPaletteSize>& palette() {
  static const std::array<std::array<uint8_t, 3>, kPaletteSize> colours = {{
      {245, 245, 240},  // background
      {140, 140, 148},  // neutral
      {56, 184, 82},    // green
      {56, 107, 230},   // blue
      {219, 51, 51},    // red
      {30, 30, 34},     // ink
      {255, 255, 255},  // white
      {226, 226, 220},  // grid
      {236, 200, 40},   // yellow
      {140, 70, 190},   // purple
      {240, 140, 40},   // orange
      {10, 10, 10},     // black
      {205, 190, 160},  // table
      {120, 110, 95},   // shadow (outlines on the table)
      {0, 0, 0},        // unused
      {0, 0, 0},        // unused
  }};
  return colours;
}

Image contact_sheet(const std::vector<Image>& frames, int columns) {
  if (frames.empty()) throw Error("contact sheet of no frames");
  const int w = frames[0].width, h = frames[0].height, gutter = 2;
  const int rows = (static_cast<int>(frames.size()) + columns - 1) / columns;
  Image sheet(columns * w + (columns - 1) * gutter, rows * h + (rows - 1) * gutter, kWhite);
  for (size_t i = 0; i < frames.size(); ++i) {
    const int ox = static_cast<int>(i) % columns * (w + gutter), oy = static_cast<int>(i) / columns * (h + gutter);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) sheet.at(ox + x, oy + y) = frames[i].at(x, y);
  }
  return sheet;
}

std::vector<Image> evenly_spaced(const std::vector<Image>& frames, int count) {
  std::vector<Image> picks;
  for (int i = 0; i < count && !frames.empty(); ++i)
    picks.push_back(frames[static_cast<size_t>(i) * (frames.size() - 1) / static_cast<size_t>(std::max(1, count - 1))]);
  return picks;
}

namespace {

std::string temp_path(const std::string& path) { return path + ".tmp-" + std::to_string(::getpid()); }

void commit(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot write " + path + ": rename of the temporary file failed");
  }
}

}  // namespace

void write_png(const std::string& path, const Image& image) {
  const std::string tmp = temp_path(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error("cannot write " + path + ": cannot create the file");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    std::remove(tmp.c_str());
    throw Error("cannot write " + path + ": libpng failed");
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_color colours[kPaletteSize];
  for (int i = 0; i < kPaletteSize; ++i) colours[i] = {palette()[static_cast<size_t>(i)][0], palette()[static_cast<size_t>(i)][1], palette()[static_cast<size_t>(i)][2]};
  png_set_PLTE(png, info, colours, kPaletteSize);
  png_write_info(png, info);
  for (int y = 0; y < image.height; ++y)
    png_write_row(png, const_cast<png_bytep>(image.pixels.data() + static_cast<size_t>(y) * image.width));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(f) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot write " + path + ": disk full?");
  }
  commit(tmp, path);
}

void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_cs) {
  if (frames.empty()) throw Error("cannot write " + path + ": no frames");
  const std::string tmp = temp_path(path);
  int err = 0;
  GifFileType* gif = EGifOpenFileName(tmp.c_str(), false, &err);
  if (!gif) throw Error("cannot write " + path + ": " + GifErrorString(err));
  auto fail = [&](const char* what) {
    EGifCloseFile(gif, &err);
    std::remove(tmp.c_str());
    throw Error("cannot write " + path + ": giflib failed at " + what);
  };
  GifColorType colours[kPaletteSize];
  for (int i = 0; i < kPaletteSize; ++i)
    colours[i] = {palette()[static_cast<size_t>(i)][0], palette()[static_cast<size_t>(i)][1], palette()[static_cast<size_t>(i)][2]};
  ColorMapObject* map = GifMakeMapObject(kPaletteSize, colours);
  EGifSetGifVersion(gif, true);
  const int w = frames[0].width, h = frames[0].height;
  if (EGifPutScreenDesc(gif, w, h, 8, 0, map) == GIF_ERROR) {
    GifFreeMapObject(map);
    fail("the screen descriptor");
  }
  GifFreeMapObject(map);
  // NETSCAPE2.0 application extension: loop forever.
  unsigned char loop[3] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0") == GIF_ERROR || EGifPutExtensionBlock(gif, 3, loop) == GIF_ERROR ||
      EGifPutExtensionTrailer(gif) == GIF_ERROR)
    fail("the loop extension");
  for (const auto& frame : frames) {
    if (frame.width != w || frame.height != h) fail("a frame of a different size");
    GraphicsControlBlock gcb{};
    gcb.DelayTime = delay_cs;
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const size_t n = EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(n), ext) == GIF_ERROR) fail("a frame delay");
    if (EGifPutImageDesc(gif, 0, 0, w, h, false, nullptr) == GIF_ERROR) fail("an image descriptor");
    for (int y = 0; y < h; ++y)
      if (EGifPutLine(gif, const_cast<GifPixelType*>(frame.pixels.data() + static_cast<size_t>(y) * w), w) == GIF_ERROR)
        fail("a pixel row");
  }
  if (EGifCloseFile(gif, &err) == GIF_ERROR) {
    std::remove(tmp.c_str());
    throw Error("cannot write " + path + ": " + GifErrorString(err));
  }
  commit(tmp, path);
}

}  // namespace engram
