// Palettes of the Studio's themes.
#include "widgets/common/theme.hpp"

#include <QApplication>
#include <QPalette>
#include <QStyle>

namespace srigl::studio {
namespace {

Theme current = Theme::Dark;

QPalette darkPalette() {
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x31), base(0x1f, 0x21, 0x24), text(0xe6, 0xe6, 0xe6), accent(0x3d, 0x8e, 0xd9);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x8a, 0x8d, 0x91));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, QColor(0x36, 0x39, 0x3e));
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Link, accent);
    p.setColor(QPalette::Highlight, accent);
    p.setColor(QPalette::HighlightedText, Qt::white);
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, QColor(0x76, 0x79, 0x7e));
    return p;
}

QPalette lightPalette() {
    QPalette p = QApplication::style()->standardPalette(); // Fusion's own light palette
    p.setColor(QPalette::Highlight, QColor(0x2a, 0x6f, 0xb8));
    return p;
}

} // namespace

void applyTheme(Theme theme) {
    current = theme;
    // Fusion draws from the palette alone, so both themes look the same on every platform.
    QApplication::setStyle(QStringLiteral("Fusion"));
    QApplication::setPalette(theme == Theme::Dark ? darkPalette() : lightPalette());
    qApp->setStyleSheet(QStringLiteral("*[invalid=\"true\"] { border: 2px solid #d9453b; border-radius: 3px; }"));
}

Theme currentTheme() {
    return current;
}

QString themeName(Theme theme) {
    return theme == Theme::Light ? QStringLiteral("light") : QStringLiteral("dark");
}

Theme themeFromName(const QString& name) {
    return name == QStringLiteral("light") ? Theme::Light : Theme::Dark;
}

} // namespace srigl::studio
