"""Roster import forms: the upload, and the importer's go."""

from wtforms import BooleanField, FileField

from baojing.web.forms import Form


class UploadForm(Form):
    file = FileField("花名册文件（.xlsx 或 .xls）")


class ConfirmForm(Form):
    # Which changed rows to update come as a list of row numbers (update=R), read by the view.
    update_all = BooleanField("更新全部有变化的党员")
    create_villages = BooleanField("新建这些村党支部")
