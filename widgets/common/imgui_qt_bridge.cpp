// Event translation for ImGui's 1.86 IO (KeysDown/KeyMap, MousePos/MouseDown/MouseWheel).
#include "widgets/common/imgui_qt_bridge.hpp"

#include <imgui.h>

#include <QFocusEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>

#include <cfloat>

namespace srigl::studio {

namespace {

// Our own small key space: ImGui only needs the keys of its key map (navigation, editing and the
// letters of the text-edit shortcuts); everything else reaches it as text.
struct KeyEntry {
    int qtKey;
    int imguiKey; // ImGuiKey_*, or -1 when only the KeysDown entry matters
};
constexpr KeyEntry kKeys[] = {
    {Qt::Key_Tab, ImGuiKey_Tab},         {Qt::Key_Left, ImGuiKey_LeftArrow},  {Qt::Key_Right, ImGuiKey_RightArrow},
    {Qt::Key_Up, ImGuiKey_UpArrow},      {Qt::Key_Down, ImGuiKey_DownArrow},  {Qt::Key_PageUp, ImGuiKey_PageUp},
    {Qt::Key_PageDown, ImGuiKey_PageDown}, {Qt::Key_Home, ImGuiKey_Home},    {Qt::Key_End, ImGuiKey_End},
    {Qt::Key_Insert, ImGuiKey_Insert},   {Qt::Key_Delete, ImGuiKey_Delete},  {Qt::Key_Backspace, ImGuiKey_Backspace},
    {Qt::Key_Space, ImGuiKey_Space},     {Qt::Key_Return, ImGuiKey_Enter},   {Qt::Key_Escape, ImGuiKey_Escape},
    {Qt::Key_Enter, ImGuiKey_KeyPadEnter}, {Qt::Key_A, ImGuiKey_A},          {Qt::Key_C, ImGuiKey_C},
    {Qt::Key_V, ImGuiKey_V},             {Qt::Key_X, ImGuiKey_X},            {Qt::Key_Y, ImGuiKey_Y},
    {Qt::Key_Z, ImGuiKey_Z},
};
constexpr int kKeyCount = static_cast<int>(sizeof(kKeys) / sizeof(kKeys[0]));

int mouseButtonIndex(Qt::MouseButton button) {
    switch (button) {
    case Qt::LeftButton: return 0;
    case Qt::RightButton: return 1;
    case Qt::MiddleButton: return 2;
    case Qt::BackButton: return 3;
    case Qt::ForwardButton: return 4;
    default: return -1;
    }
}

void setModifiers(ImGuiIO& io, Qt::KeyboardModifiers m) {
    io.KeyCtrl = m.testFlag(Qt::ControlModifier);
    io.KeyShift = m.testFlag(Qt::ShiftModifier);
    io.KeyAlt = m.testFlag(Qt::AltModifier);
    io.KeySuper = m.testFlag(Qt::MetaModifier);
}

} // namespace

void ImGuiQtBridge::setup(ImGuiIO& io) {
    for (int i = 0; i < kKeyCount; ++i)
        if (kKeys[i].imguiKey >= 0) io.KeyMap[kKeys[i].imguiKey] = i;
    io.BackendFlags |= ImGuiBackendFlags_HasMouseCursors;
    io.BackendPlatformName = "srigl_imgui_qt_bridge";
}

int ImGuiQtBridge::keyIndex(int qtKey) {
    for (int i = 0; i < kKeyCount; ++i)
        if (kKeys[i].qtKey == qtKey) return i;
    return -1;
}

Qt::CursorShape ImGuiQtBridge::cursorShape(int imguiCursor) {
    switch (imguiCursor) {
    case ImGuiMouseCursor_None: return Qt::BlankCursor;
    case ImGuiMouseCursor_TextInput: return Qt::IBeamCursor;
    case ImGuiMouseCursor_ResizeAll: return Qt::SizeAllCursor;
    case ImGuiMouseCursor_ResizeNS: return Qt::SizeVerCursor;
    case ImGuiMouseCursor_ResizeEW: return Qt::SizeHorCursor;
    case ImGuiMouseCursor_ResizeNESW: return Qt::SizeBDiagCursor;
    case ImGuiMouseCursor_ResizeNWSE: return Qt::SizeFDiagCursor;
    case ImGuiMouseCursor_Hand: return Qt::PointingHandCursor;
    case ImGuiMouseCursor_NotAllowed: return Qt::ForbiddenCursor;
    default: return Qt::ArrowCursor;
    }
}

bool ImGuiQtBridge::handleEvent(QEvent* event, ImGuiIO& io) {
    switch (event->type()) {
    case QEvent::MouseMove: {
        auto* e = static_cast<QMouseEvent*>(event);
        io.MousePos = ImVec2(static_cast<float>(e->position().x()), static_cast<float>(e->position().y()));
        return true;
    }
    case QEvent::MouseButtonPress:
    case QEvent::MouseButtonDblClick:
    case QEvent::MouseButtonRelease: {
        auto* e = static_cast<QMouseEvent*>(event);
        io.MousePos = ImVec2(static_cast<float>(e->position().x()), static_cast<float>(e->position().y()));
        const int b = mouseButtonIndex(e->button());
        if (b < 0) return false;
        io.MouseDown[b] = event->type() != QEvent::MouseButtonRelease;
        setModifiers(io, e->modifiers());
        return true;
    }
    case QEvent::Wheel: {
        auto* e = static_cast<QWheelEvent*>(event);
        // One notch (120 eighths of a degree) is one ImGui wheel unit; touchpads give fractions.
        io.MouseWheel += static_cast<float>(e->angleDelta().y()) / 120.0f;
        io.MouseWheelH += static_cast<float>(e->angleDelta().x()) / 120.0f;
        io.MousePos = ImVec2(static_cast<float>(e->position().x()), static_cast<float>(e->position().y()));
        setModifiers(io, e->modifiers());
        return true;
    }
    case QEvent::KeyPress:
    case QEvent::KeyRelease: {
        auto* e = static_cast<QKeyEvent*>(event);
        const bool down = event->type() == QEvent::KeyPress;
        setModifiers(io, e->modifiers());
        const int k = keyIndex(e->key());
        if (k >= 0) io.KeysDown[k] = down;
        // Text goes in as characters, but not control characters or Ctrl shortcuts (Ctrl+C etc.).
        if (down && !e->text().isEmpty() && !io.KeyCtrl) {
            for (const QChar c : e->text())
                if (c.isPrint()) io.AddInputCharacterUTF16(c.unicode());
        }
        return true;
    }
    case QEvent::FocusIn:
    case QEvent::FocusOut:
        io.AddFocusEvent(event->type() == QEvent::FocusIn);
        return true;
    case QEvent::Leave:
        // ImGui's "no mouse" position: nothing stays hovered once the pointer has left.
        io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
        return true;
    default: return false;
    }
}

void ImGuiQtBridge::newFrame(ImGuiIO& io, QSize logicalSize, double devicePixelRatio) {
    io.DisplaySize = ImVec2(static_cast<float>(logicalSize.width()), static_cast<float>(logicalSize.height()));
    const float s = static_cast<float>(devicePixelRatio > 0.0 ? devicePixelRatio : 1.0);
    io.DisplayFramebufferScale = ImVec2(s, s);
    if (!clock_.isValid()) {
        io.DeltaTime = 1.0f / 60.0f;
        clock_.start();
        return;
    }
    const double dt = static_cast<double>(clock_.nsecsElapsed()) * 1e-9;
    clock_.restart();
    io.DeltaTime = dt > 1e-6 ? static_cast<float>(dt) : 1e-6f; // ImGui asserts DeltaTime > 0
}

} // namespace srigl::studio
