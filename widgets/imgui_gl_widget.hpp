// A QOpenGLWidget that hosts one Dear ImGui context, drawn with the OpenGL3 backend compiled into
// libimgui-dev and fed by ImGuiQtBridge. It repaints on input and for a few frames after it (so
// hover and release states settle), and while a subclass says it animates; never in a busy loop.
// It also keeps frame times, so a test can check that the UI thread keeps rendering.
#pragma once

#include "widgets/imgui_qt_bridge.hpp"

#include <QElapsedTimer>
#include <QOpenGLFunctions>
#include <QOpenGLWidget>
#include <QTimer>

#include <vector>

struct ImGuiContext;

namespace srigl::studio {

struct FrameStats {
    int frames = 0;
    double meanFrameMs = 0.0;  // CPU time of paintGL (ImGui frame + GL submission)
    double worstFrameMs = 0.0;
    double worstGapMs = 0.0;   // longest time between two frames while frames were wanted
};

class ImGuiGlWidget : public QOpenGLWidget, protected QOpenGLFunctions {
    Q_OBJECT
public:
    explicit ImGuiGlWidget(QWidget* parent = nullptr);
    ~ImGuiGlWidget() override;

    // Whether this platform can give an OpenGL context at all. Qt crashes when a window holding a
    // QOpenGLWidget is shown on a platform without one (QT_QPA_PLATFORM=offscreen), so callers
    // create the widget only when this is true.
    static bool openGlAvailable();

    // Asks for `frames` more frames (e.g. after new data); they come at most every 16 ms.
    void requestFrames(int frames = 2);
    bool glReady() const { return glReady_; }
    const FrameStats& frameStats() const { return stats_; }
    void resetFrameStats();

protected:
    // Called between ImGui::NewFrame() and ImGui::Render(), with the GL context current.
    virtual void drawUi() = 0;
    // Called once the GL context and the ImGui backend exist, and before they go away.
    virtual void initializeResources() {}
    virtual void releaseResources() {}
    // True while the subclass has something moving (the widget keeps repainting at ~60 Hz).
    virtual bool animating() const { return false; }

    void initializeGL() override;
    void paintGL() override;
    bool event(QEvent* event) override;

private:
    void shutdown();

    ImGuiContext* context_ = nullptr;
    ImGuiQtBridge bridge_;
    QTimer frameTimer_;
    int pendingFrames_ = 0;
    bool glReady_ = false;
    FrameStats stats_;
    double frameMsSum_ = 0.0;
    QElapsedTimer sinceLastFrame_;
};

} // namespace srigl::studio
