"""Shared shape of the change rules: instances are pairs across two snapshots."""

from dpmsmt.rules._base import Rule, Scope
from dpmsmt.rules._common import dpm_path, ds_path


class DatasourceChange(Rule):
    """A change rule over one data source present before and after (`DsChange`)."""

    scope = Scope.CHANGE_DATASOURCE
    where_key = "primary"

    def where(self, change, c):
        return ds_path(c.after, self.where_key)


class DpmChange(Rule):
    """A change rule over one DPM server present before and after: (name before, name after)."""

    scope = Scope.CHANGE_DPM
    where_key = "status"

    def where(self, change, pair):
        return dpm_path(pair[1], self.where_key)
