// Mask pictures with OpenCV (resizing, PNG and video encoding).
#include "sessions/render/mask_renderer.hpp"
#include "sessions/mask/mask_bits.hpp"
#include "sessions/mask/mask_blocks.hpp"
#include "sessions/render/frame_folder.hpp"
#include "sessions/render/video_file.hpp"

#include "sessions/store/store_error.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

namespace srigl::sessions {
namespace {

cv::Mat toMat(const RgbImage& image) {
    cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.pixels.data()));
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    return bgr;
}

// `previous` when it has the shape of `current` (a snapshot of another shape, or of other sampled
// rows, is no reference).
const LayerMaskSnapshot* sameShapeOrNull(const LayerMaskSnapshot& current, const LayerMaskSnapshot* previous) {
    return previous && previous->outFeatures == current.outFeatures && previous->fanIn == current.fanIn &&
                   previous->rowStride == current.rowStride
               ? previous
               : nullptr;
}

// A layer larger than the picture is counted in blocks, one pixel each, each side shrunk only as far
// as it must be (ceil(side / maxSide) entries a block along it: square blocks made a 65536 x 784 layer
// a 2048 x 25 strip, and a sample of 1024 whole rows of 65536 inputs 2048 x 32), and coloured as the
// inspector colours it (MaskBlocks: the mean colour, brightened so that the densest block is at full
// strength). An area average alone turns a 99% sparse layer into a uniform dark wash, since no block
// is more than a few percent active; and counted from the packed bits, a 65536 x 784 layer needs no
// 150 MB full-size picture. Empty when the layer fits. A malformed snapshot is a StoreError.
std::optional<MaskBlocks> pictureBlocks(const LayerMaskSnapshot& cur, const LayerMaskSnapshot* prev, int maxSide) {
    const int64_t longer = std::max(cur.outFeatures, cur.fanIn);
    if (longer <= maxSide) return std::nullopt;
    try {
        return MaskBlocks(cur, sameShapeOrNull(cur, prev), cellsAlong(cur.outFeatures, maxSide),
                          cellsAlong(cur.fanIn, maxSide));
    } catch (const std::invalid_argument& e) {
        throw StoreError("mask snapshot of " + cur.name + ": " + e.what());
    }
}

RgbImage blocksPicture(const MaskBlocks& blocks, const std::string& name, const MaskPalette& pal, double densest) {
    std::vector<uint8_t> rgba;
    try {
        blocks.rgbaInto(rgba, pal, 1, 1, densest);
    } catch (const std::invalid_argument& e) {
        throw StoreError("mask picture of " + name + ": " + e.what());
    }
    RgbImage image;
    image.width = static_cast<int>(blocks.gridCols());
    image.height = static_cast<int>(blocks.gridRows());
    const size_t n = static_cast<size_t>(blocks.gridCols() * blocks.gridRows());
    image.pixels.resize(n * 3);
    for (size_t p = 0; p < n; ++p)
        for (size_t ch = 0; ch < 3; ++ch) image.pixels[p * 3 + ch] = rgba[p * 4 + ch];
    return image;
}

// The brightening of a sequence of pictures (renderMask's `densest`): the largest share of touched
// connections in any block of any frame, each frame against the one before; 0 when the layer fits
// the picture unaggregated. One extra counting pass per frame, a fraction of encoding it.
double sequenceDensest(const std::vector<LayerMaskSnapshot>& snapshots) {
    double densest = 0.0;
    for (size_t i = 0; i < snapshots.size(); ++i)
        if (const auto blocks = pictureBlocks(snapshots[i], i ? &snapshots[i - 1] : nullptr, kMaskPictureMaxSide))
            densest = std::max(densest, blocks->densestShare());
    return densest;
}

} // namespace

RgbImage renderMask(const LayerMaskSnapshot& cur, const LayerMaskSnapshot* prev, int minSide, int maxSide,
                    const MaskPalette& pal, double densest) {
    const int64_t rows = cur.outFeatures, cols = cur.fanIn;
    if (rows <= 0 || cols <= 0 || static_cast<int64_t>(cur.bits.size()) < (rows * cols + 7) / 8)
        throw StoreError("mask snapshot of " + cur.name + " is empty or truncated");
    if (maxSide < 1) throw StoreError("mask picture of " + cur.name + ": a largest side of " + std::to_string(maxSide));
    if (const auto blocks = pictureBlocks(cur, prev, maxSide)) return blocksPicture(*blocks, cur.name, pal, densest);
    prev = sameShapeOrNull(cur, prev);
    const int64_t longer = std::max(rows, cols);

    std::vector<bool> ablated(static_cast<size_t>(rows), false);
    for (int64_t id : cur.ablated)
        if (id >= 0 && id < rows) ablated[static_cast<size_t>(id)] = true;
    cv::Mat full(static_cast<int>(rows), static_cast<int>(cols), CV_8UC3);
    for (int64_t r = 0; r < rows; ++r) {
        auto* px = full.ptr<cv::Vec3b>(static_cast<int>(r));
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t i = r * cols + c;
            const bool on = maskKept(cur, i);
            const bool was = prev ? maskKept(*prev, i) : on;
            const uint8_t* colour = on ? (was ? pal.active : pal.regrown)
                                       : (was ? pal.pruned : (ablated[static_cast<size_t>(r)] ? pal.ablatedRow : pal.inactive));
            px[c] = cv::Vec3b(colour[0], colour[1], colour[2]);
        }
    }
    cv::Mat out = full;
    if (longer < minSide) {
        const int f = static_cast<int>((minSide + longer - 1) / longer);
        cv::resize(full, out, cv::Size(), f, f, cv::INTER_NEAREST);
    }
    RgbImage image;
    image.width = out.cols;
    image.height = out.rows;
    image.pixels.assign(out.data, out.data + out.total() * 3);
    return image;
}

void writeImage(const std::string& path, const RgbImage& image) {
    bool ok = false;
    try {
        ok = cv::imwrite(path, toMat(image));
    } catch (const cv::Exception& e) {
        throw StoreError(path + ": cannot write image: " + e.msg);
    }
    if (!ok) throw StoreError(path + ": cannot write image (unknown extension or unwritable path)");
}

void writeMaskVideo(const std::string& path, const std::vector<LayerMaskSnapshot>& snapshots, double fps,
                    const std::function<bool(size_t done, size_t total)>& progress) {
    if (snapshots.empty()) throw StoreError(path + ": no mask snapshots to put in a video");
    const bool avi = path.size() > 4 && path.compare(path.size() - 4, 4, ".avi") == 0;
    const int fourcc = avi ? cv::VideoWriter::fourcc('M', 'J', 'P', 'G') : cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    VideoFile file(path);
    cv::VideoWriter writer;
    const double densest = sequenceDensest(snapshots);
    const RgbImage first = renderMask(snapshots.front(), nullptr, kMaskPictureMinSide, kMaskPictureMaxSide, {}, densest);
    if (!writer.open(file.temporary(), fourcc, fps, cv::Size(first.width, first.height)))
        throw StoreError(path + ": no video codec can write this file (try .avi)");
    for (size_t i = 0; i < snapshots.size(); ++i) {
        const RgbImage frame = renderMask(snapshots[i], i ? &snapshots[i - 1] : nullptr, kMaskPictureMinSide, kMaskPictureMaxSide, {}, densest);
        writer.write(toMat(frame));
        if (progress && !progress(i + 1, snapshots.size())) return; // the temporary file goes, the old file stays
    }
    writer.release();
    file.commit();
}

void writeMaskFrames(const std::string& folder, const std::string& name, const std::vector<LayerMaskSnapshot>& snapshots,
                     const std::vector<int64_t>& steps, const std::function<bool(size_t done, size_t total)>& progress) {
    if (snapshots.empty() || steps.size() != snapshots.size())
        throw StoreError(folder + ": no mask snapshots (or not one step each) to write");
    FrameFolder frames(folder);
    const double densest = sequenceDensest(snapshots);
    for (size_t i = 0; i < snapshots.size(); ++i) {
        // Encoded in memory and written by FrameFolder: cv::imwrite ignores a failed final flush,
        // so a full disk could leave a truncated PNG reported as written.
        std::vector<uint8_t> png;
        try {
            if (!cv::imencode(".png", toMat(renderMask(snapshots[i], i ? &snapshots[i - 1] : nullptr, kMaskPictureMinSide, kMaskPictureMaxSide, {}, densest)), png))
                throw StoreError(folder + ": cannot encode frame " + std::to_string(i) + " as PNG");
        } catch (const cv::Exception& e) {
            throw StoreError(folder + ": cannot encode frame " + std::to_string(i) + " as PNG: " + e.msg);
        }
        char suffix[64];
        std::snprintf(suffix, sizeof suffix, "_%04zu_step%lld.png", i, static_cast<long long>(steps[i]));
        frames.add(name + suffix, png);
        if (progress && !progress(i + 1, snapshots.size())) return; // the staging folder goes, the folder stays
    }
    frames.commit();
}

} // namespace srigl::sessions
