// Qt input -> Dear ImGui 1.86 input (ImGui 1.86 ships no Qt backend): mouse position, buttons and
// wheel, keys with modifiers, text, focus, display size with the device pixel ratio, delta time,
// and ImGui's wanted cursor back as a Qt cursor shape. Pure translation into an ImGuiIO, so it is
// tested without any GL context.
#pragma once

#include <QElapsedTimer>
#include <QSize>
#include <Qt>

class QEvent;
struct ImGuiIO;

namespace srigl::studio {

class ImGuiQtBridge {
public:
    // Fills io.KeyMap (ImGuiKey_* -> our key indices) and the backend flags. Call once per context.
    static void setup(ImGuiIO& io);

    // The index into io.KeysDown for a Qt key, or -1 for a key ImGui does not use.
    static int keyIndex(int qtKey);
    // The Qt cursor for ImGui's wanted cursor (ImGuiMouseCursor_*); Qt::BlankCursor for None.
    static Qt::CursorShape cursorShape(int imguiCursor);

    // Feeds one Qt event into io; true when it was an input event ImGui uses (the widget repaints).
    bool handleEvent(QEvent* event, ImGuiIO& io);

    // Per frame: display size in logical pixels, framebuffer scale from the device pixel ratio, and
    // the time since the previous frame (a small positive value on the first, as ImGui requires).
    void newFrame(ImGuiIO& io, QSize logicalSize, double devicePixelRatio);

private:
    QElapsedTimer clock_;
};

} // namespace srigl::studio
