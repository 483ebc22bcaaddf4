// Pictures of masks: a layer's [out, fan_in] mask as an RGB image (active, ablated, pruned and
// regrown since the previous snapshot in their own colours), PNG files, and videos and PNG
// sequences of the mask's evolution. Shared by `srigl runs render` and the Studio.
#pragma once

#include "engine/training/training_observer.hpp"
#include "sessions/mask/mask_palette.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace srigl::sessions {

struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels; // row-major RGB
};

// The sides of a mask picture, unless the caller says otherwise: the longer one at least the first
// (small layers are magnified) and at most the second (large ones are drawn in blocks). Videos and
// PNG sequences always use these.
constexpr int kMaskPictureMinSide = 512, kMaskPictureMaxSide = 2048;

// One pixel per mask entry (row = neuron, column = input), magnified so the longer side reaches
// at least minSide. When a side exceeds maxSide, one pixel per block of ceil(rows / maxSide) neurons
// by ceil(cols / maxSide) inputs (each side shrunk only as far as it must be: a 65536 x 784 layer is
// 2048 x 784 pixels of 32 neurons each, not a 2048 x 25 strip), coloured as the Studio's inspector colours its
// blocks (MaskBlocks: brightened so that the block with `densest` of its connections touched is at
// full strength; 0: this snapshot's densest block). previous may be null; one of another shape
// counts as null. Throws StoreError for an empty, truncated or malformed mask or a maxSide below 1.
RgbImage renderMask(const LayerMaskSnapshot& current, const LayerMaskSnapshot* previous,
                    int minSide = kMaskPictureMinSide, int maxSide = kMaskPictureMaxSide, const MaskPalette& palette = {},
                    double densest = 0.0);

// PNG (or any format OpenCV writes, by extension). Throws StoreError when it cannot be written.
void writeImage(const std::string& path, const RgbImage& image);
// A video with one frame per snapshot (each coloured against the one before), fps frames a second.
// A layer drawn in blocks has one brightening for every frame (the densest block of the whole
// sequence), so that frames differ only where the mask does.
// .mp4 uses the mp4v codec, .avi MJPG. Written all or nothing (VideoFile): throws StoreError when
// the path is not a regular file, no codec can write it or the video could not be written whole.
// progress(done, total) is called after each frame; when it returns false the writing stops and
// nothing is written, an existing file is kept (the Studio's export dialog cancels this way).
void writeMaskVideo(const std::string& path, const std::vector<LayerMaskSnapshot>& snapshots, double fps = 4.0,
                    const std::function<bool(size_t done, size_t total)>& progress = {});
// One PNG per snapshot in `folder`, <name>_NNNN_step<S>.png (NNNN the index, which keeps the order
// and the names distinct when a resumed run recorded a step twice; S from `steps`), each coloured
// against the one before, brightened as the video's frames are. Written all or nothing (FrameFolder): a cancel (progress returns false),
// an error or a full disk leaves the folder as it was. Throws StoreError.
void writeMaskFrames(const std::string& folder, const std::string& name, const std::vector<LayerMaskSnapshot>& snapshots,
                     const std::vector<int64_t>& steps,
                     const std::function<bool(size_t done, size_t total)>& progress = {});

} // namespace srigl::sessions
