// Series and table rows of the init-variance panel.
#include "widgets/jobs/init_variance_series.hpp"

#include <QObject>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace srigl::studio {

QString spreadName(InitSpread spread) {
    switch (spread) {
    case InitSpread::Variance: return QObject::tr("variance of ||y||");
    case InitSpread::Std: return QObject::tr("std of ||y||");
    case InitSpread::RelativeStd: return QObject::tr("std / mean of ||y||");
    }
    return {};
}

double spreadOf(const sessions::InitNormStats& s, InitSpread spread) {
    const double sd = std::sqrt(std::max(0.0, s.variance));
    switch (spread) {
    case InitSpread::Variance: return s.variance;
    case InitSpread::Std: return sd;
    case InitSpread::RelativeStd: return s.mean != 0.0 ? sd / s.mean : 0.0;
    }
    return s.variance;
}

QString structureName(int structure) {
    switch (structure) {
    case 0: return QObject::tr("dense");
    case 1: return QObject::tr("unstructured");
    case 2: return QObject::tr("constant fan-in");
    case 3: return QObject::tr("N:M");
    }
    throw std::out_of_range("no mask structure " + std::to_string(structure));
}

const sessions::InitNormStats& structureStats(const sessions::InitVariancePoint& p, int structure) {
    switch (structure) {
    case 0: return p.dense;
    case 1: return p.unstructured;
    case 2: return p.constantFanIn;
    case 3: return p.nmMask;
    }
    throw std::out_of_range("no mask structure " + std::to_string(structure));
}

std::vector<XySeries> initVarianceSeries(const std::vector<sessions::InitVariancePoint>& points, InitSpread spread) {
    std::vector<XySeries> out;
    if (points.empty()) return out;
    for (int s = 0; s < kInitStructures; ++s) {
        XySeries series;
        series.name = structureName(s);
        for (const auto& p : points) series.points.push_back({p.sparsity, spreadOf(structureStats(p, s), spread)});
        out.push_back(std::move(series));
    }
    return out;
}

QStringList initVarianceColumns() {
    return {QObject::tr("sparsity"), QObject::tr("mask"),      QObject::tr("density"),   QObject::tr("mean ||y||"),
            QObject::tr("var ||y||"), QObject::tr("std ||y||"), QObject::tr("std / mean")};
}

std::vector<QStringList> initVarianceRows(const std::vector<sessions::InitVariancePoint>& points) {
    std::vector<QStringList> rows;
    for (const auto& p : points)
        for (int s = 0; s < kInitStructures; ++s) {
            const auto& st = structureStats(p, s);
            const QString mask = s == 3 ? QStringLiteral("N:M %1").arg(QString::fromStdString(p.nm)) : structureName(s);
            rows.push_back({QString::number(p.sparsity, 'g', 6), mask, QString::number(st.density, 'f', 4),
                            QString::number(st.mean, 'g', 6), QString::number(st.variance, 'g', 6),
                            QString::number(spreadOf(st, InitSpread::Std), 'g', 6),
                            QString::number(spreadOf(st, InitSpread::RelativeStd), 'g', 6)});
        }
    return rows;
}

} // namespace srigl::studio
