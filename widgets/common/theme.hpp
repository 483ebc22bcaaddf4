// Dark and light themes for the whole application (Fusion style + a palette + the few style
// rules the palette cannot express, such as the invalid-field marker of the launcher).
#pragma once

#include <QString>

namespace srigl::studio {

enum class Theme { Dark, Light };

void applyTheme(Theme theme);
Theme currentTheme();
QString themeName(Theme theme);
Theme themeFromName(const QString& name); // anything but "light" is dark

} // namespace srigl::studio
