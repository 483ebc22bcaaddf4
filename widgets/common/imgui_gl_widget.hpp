// A widget that hosts one Dear ImGui context, drawn with the OpenGL3 backend compiled into
// libimgui-dev and fed by ImGuiQtBridge. It repaints on input and for a few frames after it (so
// hover and release states settle), and while a subclass says it animates; never in a busy loop.
// It also keeps frame times, so a test can check that the UI thread keeps rendering.
//
// ImGui draws into a framebuffer object of the widget's own OpenGL context (on an offscreen
// surface); the picture is read back and painted like any raster widget. A QOpenGLWidget would make
// Qt compose the whole top-level window through OpenGL on every repaint: with software OpenGL
// (Mesa llvmpipe) that composition, not ImGui, took most of the CPU and held the inspector near
// 3-9 frames/s while a session trained (docs/studio.md, "Measured"). Reading back a picture of the
// inspector's size costs far less, and QWidget::grab() (screenshots, PNG export) keeps working.
#pragma once

#include "widgets/common/imgui_qt_bridge.hpp"

#include <QElapsedTimer>
#include <QImage>
#include <QOpenGLFunctions>
#include <QTimer>
#include <QWidget>

#include <memory>

struct ImGuiContext;
class QOffscreenSurface;
class QOpenGLContext;
class QOpenGLFramebufferObject;

namespace srigl::studio {

struct FrameStats {
    int frames = 0;
    double meanFrameMs = 0.0;  // CPU time of one frame: ImGui, GL drawing and the read back
    double worstFrameMs = 0.0;
    double worstGapMs = 0.0;   // longest time between two frames while frames were wanted
    // CPU time the UI thread spent per frame (with LP_NUM_THREADS=0, Mesa's software renderer
    // draws on this thread too): what a frame costs, whatever else loads the machine.
    double meanCpuMs = 0.0;
};

class ImGuiGlWidget : public QWidget, protected QOpenGLFunctions {
    Q_OBJECT
public:
    explicit ImGuiGlWidget(QWidget* parent = nullptr);
    ~ImGuiGlWidget() override;

    // Whether this platform can give an OpenGL context at all; callers create the widget only
    // when it can (QT_QPA_PLATFORM=offscreen usually cannot).
    static bool openGlAvailable();

    // Asks for `frames` more frames (e.g. after new data); they come at most every 16 ms.
    void requestFrames(int frames = 2);
    // The same for new content someone waits to see (a live mask): the next frame is drawn as soon as
    // the UI thread is free, and the 16 ms pacing goes on from that frame. A frame already waiting
    // for its turn is moved forward, so this adds no frame to a running sequence.
    void requestFramesNow(int frames = 2);
    bool glReady() const { return glReady_; }
    const FrameStats& frameStats() const { return stats_; }
    void resetFrameStats();
    // The last rendered picture (device pixels).
    const QImage& lastFrame() const { return image_; }

protected:
    // Called between ImGui::NewFrame() and ImGui::Render(), with the GL context current.
    virtual void drawUi() = 0;
    // Called once the GL context and the ImGui backend exist, and before they go away, with the
    // context current.
    virtual void initializeResources() {}
    virtual void releaseResources() {}
    // True while the subclass has something moving (the widget keeps repainting at ~60 Hz).
    virtual bool animating() const { return false; }

    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    bool event(QEvent* event) override;

private:
    bool ensureGl();
    void renderFrame();
    void shutdown();

    ImGuiContext* context_ = nullptr;
    ImGuiQtBridge bridge_;
    std::unique_ptr<QOpenGLContext> gl_;
    std::unique_ptr<QOffscreenSurface> surface_;
    std::unique_ptr<QOpenGLFramebufferObject> fbo_;
    bool glFailed_ = false;
    QImage image_;
    bool stale_ = true; // image_ does not show the current state: render before painting
    QTimer frameTimer_;
    int pendingFrames_ = 0;
    bool glReady_ = false;
    FrameStats stats_;
    double frameMsSum_ = 0.0;
    double cpuMsSum_ = 0.0;
    QElapsedTimer sinceLastFrame_;
    QElapsedTimer lastFrameStart_; // paces requested frames
};

} // namespace srigl::studio
