// Config diffs with QJsonDocument (the widgets see no nlohmann/json).
#include "widgets/compare/config_diff_model.hpp"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <map>
#include <set>
#include <stdexcept>

namespace srigl::studio {
namespace {

const char* kMissing = "\u2014";

std::string text(const QJsonValue& v) {
    switch (v.type()) {
    case QJsonValue::String: return v.toString().toStdString();
    case QJsonValue::Bool: return v.toBool() ? "true" : "false";
    case QJsonValue::Double: return QString::number(v.toDouble(), 'g', 10).toStdString();
    case QJsonValue::Null: return "null";
    case QJsonValue::Array: return QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact).toStdString();
    default: return QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact).toStdString();
    }
}

void flatten(const QJsonObject& object, const std::string& prefix, std::map<std::string, std::string>& out) {
    for (auto it = object.begin(); it != object.end(); ++it) {
        const std::string key = prefix + it.key().toStdString();
        if (it.value().isObject()) flatten(it.value().toObject(), key + ".", out);
        else out[key] = text(it.value());
    }
}

} // namespace

ConfigDiff diffConfigs(const std::vector<std::string>& configs) {
    std::vector<std::map<std::string, std::string>> flat(configs.size());
    std::set<std::string> keys;
    for (size_t i = 0; i < configs.size(); ++i) {
        QJsonParseError error{};
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(configs[i]), &error);
        if (!doc.isObject())
            throw std::invalid_argument("config of run " + std::to_string(i + 1) + " is not a JSON object" +
                                        (error.error != QJsonParseError::NoError ? ": " + error.errorString().toStdString() : ""));
        flatten(doc.object(), "", flat[i]);
        for (const auto& kv : flat[i]) keys.insert(kv.first);
    }
    ConfigDiff diff;
    if (configs.size() < 2) return diff;
    for (const auto& key : keys) {
        std::vector<std::string> values;
        for (const auto& f : flat) {
            const auto it = f.find(key);
            values.push_back(it == f.end() ? kMissing : it->second);
        }
        bool differs = false;
        for (const auto& v : values) differs = differs || v != values.front();
        if (!differs) continue;
        diff.keys.push_back(key);
        diff.values.push_back(std::move(values));
    }
    return diff;
}

ConfigDiffModel::ConfigDiffModel(QObject* parent) : QAbstractTableModel(parent) {}

bool ConfigDiffModel::setRuns(const QStringList& runLabels, const std::vector<std::string>& configs) {
    beginResetModel();
    bool ok = true;
    try {
        diff_ = diffConfigs(configs);
        labels_ = runLabels;
        error_.clear();
    } catch (const std::exception& e) {
        diff_ = {};
        labels_.clear();
        error_ = QString::fromStdString(e.what());
        ok = false;
    }
    endResetModel();
    return ok;
}

int ConfigDiffModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(diff_.keys.size());
}

int ConfigDiffModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() || diff_.keys.empty() ? 0 : static_cast<int>(labels_.size());
}

QVariant ConfigDiffModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || (role != Qt::DisplayRole && role != Qt::ToolTipRole)) return {};
    return QString::fromStdString(diff_.values.at(static_cast<size_t>(index.row())).at(static_cast<size_t>(index.column())));
}

QVariant ConfigDiffModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (role != Qt::DisplayRole) return {};
    if (orientation == Qt::Vertical) return QString::fromStdString(diff_.keys.at(static_cast<size_t>(section)));
    return labels_.value(section);
}

} // namespace srigl::studio
