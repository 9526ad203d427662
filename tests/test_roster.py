"""Roster import: the preview checks every row, the good rows go in, the refused come back."""

import io
from datetime import date

import pytest
import python_calamine
from sqlalchemy import func, select

from baojing.extensions import db
from baojing.models import AuditEntry, Member, OrgUnit, RosterImport
from baojing.models.org import VILLAGE
from baojing.services.roster import fields
from baojing.validators import InvalidValue
from tests.factories import resident_id
from tests.roster_files import HEADINGS, member_row, write_xls, write_xlsx


@pytest.fixture(autouse=True)
def _inline_jobs(app):
    app.config["ROSTER_JOBS_INLINE"] = True


def _members() -> int:
    return db.session.scalar(select(func.count()).select_from(Member))


def _upload(client, path, name=None):
    data = {"file": (io.BytesIO(path.read_bytes()), name or path.name)}
    return client.post("/members/import", data, content_type="multipart/form-data")


def _job(response) -> RosterImport:
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return db.session.get(RosterImport, job_id)


def _sheet(data: bytes) -> list[list]:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_index(0).to_python()


def _bad_rows():
    """Eight good rows and one of each fault, in sheet rows 3… (title row, heading row)."""
    good = [member_row("踏梯村", 姓名=f"向{n}") for n in range(8)]
    wrong_digit = member_row("踏梯村", 姓名="校验错")
    last = wrong_digit["身份证号"][-1]
    wrong_digit["身份证号"] = wrong_digit["身份证号"][:-1] + ("1" if last != "1" else "2")
    duplicate = member_row("踏梯村", 姓名="重复", 身份证号=good[0]["身份证号"])
    bad_date = member_row("踏梯村", 姓名="日期错", 入党时间="2010年13月")
    bad_phone = member_row("踏梯村", 姓名="手机错", 手机号码="1234567")
    return good, [wrong_digit, duplicate, bad_date, bad_phone]


def test_preview_checks_every_row_and_writes_nothing(login, org, tmp_path):
    good, bad = _bad_rows()
    good[1]["手机号码"] = "１３９ ０７４３ ８８８８"  # full-width digits and spaces
    good[2]["身份证号"] = good[2]["身份证号"].replace("X", "x")
    path = write_xlsx(tmp_path / "名册.xlsx", good + bad, blank_after=4)
    client = login("admin")
    before = _members()
    response = _upload(client, path)
    assert response.status_code == 303
    job = _job(response)
    assert _members() == before, "a preview registers nobody"
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "<strong>8</strong> 人可新增登记" in page
    assert '<strong class="points-minus">4</strong> 行有问题' in page
    # Sheet rows: title 1, headings 2, good rows 3–10 with a blank line after the 4th (row 7).
    assert "第 12 行</strong> · 身份证号" in page and "校验位不正确" in page
    assert "第 13 行</strong> · 身份证号" in page and "与第 3 行的身份证号码重复" in page
    assert "第 14 行</strong> · 入党时间" in page and "不是有效的日期" in page
    assert "第 15 行</strong> · 手机号码" in page
    assert good[0]["身份证号"] not in page, "ID numbers are never shown in full"
    upload = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "roster.upload"))
    assert upload.username == "admin" and '"rows": 12' in upload.after


def test_confirmed_import_registers_the_good_rows_and_the_error_file_goes_back_in(
    login, org, tmp_path
):
    good, bad = _bad_rows()
    good[1]["手机号码"] = "１３９ ０７４３ ８８８８"
    path = write_xlsx(tmp_path / "名册.xlsx", good + bad)
    client = login("admin")
    job = _job(_upload(client, path))
    response = client.post(f"/members/import/{job.id}/confirm")
    assert response.status_code == 303
    db.session.refresh(job)
    assert (job.status, job.created_count, job.refused_count) == ("done", 8, 4)
    imported = db.session.scalar(select(Member).where(Member.name == "向1"))
    assert imported.phone == "13907438888"
    assert imported.village_id == org.villages["tati"].id
    assert imported.township_id == org.townships["迁陵镇"].id
    assert imported.gender == "男" and imported.birth_date == date(1984, 3, 9)
    created = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "member.create"))
    assert {e.username for e in created} == {"admin"}
    assert not list((tmp_path / "uploads" / "roster").glob("*")), "the upload is deleted"

    errors = client.get(f"/members/import/{job.id}/errors.xlsx")
    assert errors.status_code == 200
    rows = _sheet(errors.data)
    errors.close()
    assert rows[0] == [*HEADINGS, "错误"]
    assert [r[1] for r in rows[1:]] == ["校验错", "重复", "日期错", "手机错"]
    assert "原第 11 行" in rows[1][-1] and "校验位" in rows[1][-1]
    # The county fixes two rows in the file and sends it back.
    fixed = [dict(zip(HEADINGS, r, strict=False)) for r in rows[1:]]
    fixed[2]["入党时间"] = "2010.10"
    fixed[3]["手机号码"] = "13607430001"
    again = write_xlsx(tmp_path / "改好的.xlsx", fixed, headings=[*HEADINGS, "错误"])
    job2 = _job(_upload(client, again))
    client.post(f"/members/import/{job2.id}/confirm")
    db.session.refresh(job2)
    # The duplicate's number is registered now (the first row went in): shown as a change
    # to choose, never a second member.
    assert (job2.created_count, job2.refused_count, job2.unchanged_count) == (2, 1, 1)
    assert _members() == 3 + 8 + 2
    numbers = db.session.scalars(select(Member.id_number)).all()
    assert len(numbers) == len(set(numbers))


def test_xls_and_xlsx_are_read_alike(login, org, tmp_path):
    rows = [member_row("踏梯村", 姓名=f"彭{n}") for n in range(3)]
    rows.append(member_row("昂洞村", 姓名="田小", 身份证号=resident_id().lower()))
    client = login("admin")
    previews = []
    for path in (write_xlsx(tmp_path / "a.xlsx", rows), write_xls(tmp_path / "a.xls", rows)):
        job = _job(_upload(client, path))
        assert job.file_kind == path.suffix[1:]
        previews.append(client.get(f"/members/import/{job.id}").get_data(as_text=True))
    for page in previews:
        assert "<strong>4</strong> 人可新增登记" in page
        assert "行有问题" in page and '<strong class="">0</strong>' in page


def test_a_heading_split_over_merged_cells_and_an_id_stored_as_a_number(login, org, tmp_path):
    import xlsxwriter

    path = tmp_path / "merged.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.merge_range(0, 0, 0, 6, "迁陵镇流动党员花名册（2026年）")
    for col, heading in enumerate(["姓名", "身份证号", "手机号码", "所在党支部", "入党时间"]):
        sheet.merge_range(1, col, 2, col, heading)  # merged down over both heading rows
    sheet.merge_range(1, 5, 1, 6, "外出情况")
    sheet.write(2, 5, "外出时间")
    sheet.write(2, 6, "外出地点")
    first = member_row("踏梯村")
    sheet.write_row(3, 0, ["龙秀英", first["身份证号"], first["手机号码"], "踏梯村", "2015.07",
                           "2020-05-01", "广东深圳宝安区"])  # fmt: skip
    sheet.write_row(4, 0, ["石勇", 433125198001010000, first["手机号码"], "踏梯村", "2015.07"])
    book.close()
    client = login("admin")
    job = _job(_upload(client, path))
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "<strong>1</strong> 人可新增登记" in page
    assert "第 5 行</strong> · 身份证号" in page and "存成了数字" in page
    client.post(f"/members/import/{job.id}/confirm")
    m = db.session.scalar(select(Member).where(Member.name == "龙秀英"))
    assert (m.join_date, m.out_since) == (date(2015, 7, 1), date(2020, 5, 1))
    assert (m.dest_province, m.dest_city, m.dest_address) == ("广东省", "深圳市", "宝安区")


def test_a_registered_id_is_never_created_twice_and_changes_apply_only_when_chosen(
    login, org, tmp_path
):
    known = org.members["tati"]
    row = member_row("踏梯村", 姓名=known.name, 身份证号=known.id_number, 手机号码="13307431111",
                     入党时间=known.join_date)  # fmt: skip
    new = member_row("踏梯村", 姓名="新来的")
    path = write_xlsx(tmp_path / "a.xlsx", [row, new])
    client = login("admin")
    job = _job(_upload(client, path))
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "<strong>1</strong> 人已登记但信息有变化" in page and "手机号码" in page
    client.post(f"/members/import/{job.id}/confirm")  # nothing ticked
    db.session.refresh(job)
    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 0, 1)
    assert db.session.get(Member, known.id).phone != "13307431111"

    job2 = _job(_upload(client, path))
    client.post(f"/members/import/{job2.id}/confirm", {"update": "3"})
    db.session.refresh(job2)
    assert (job2.created_count, job2.updated_count) == (0, 1)
    member = db.session.get(Member, known.id)
    assert member.phone == "13307431111"
    assert db.session.scalar(select(func.count()).where(Member.id_number == known.id_number)) == 1
    update = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "member.update", AuditEntry.entity_id == known.id
        )
    )
    assert "roster" in update.after and "133****1111" in update.after


def test_a_township_officer_imports_only_into_their_township(login, org, tmp_path):
    rows = [
        member_row("踏梯村", 姓名="本镇的"),
        member_row("新民村", township="葫芦镇", 姓名="外镇的"),
    ]
    client = login("township")
    job = _job(_upload(client, write_xlsx(tmp_path / "a.xlsx", rows)))
    assert job.township_id == org.townships["迁陵镇"].id
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "不在您管辖的乡镇" in page
    client.post(f"/members/import/{job.id}/confirm")
    assert db.session.scalar(select(Member).where(Member.name == "外镇的")) is None
    assert db.session.scalar(select(Member).where(Member.name == "本镇的")) is not None
    # Another township's import is not theirs to see; a secretary may not import at all.
    admin_job = _job(_upload(login("admin"), write_xlsx(tmp_path / "b.xlsx", rows)))
    db.session.execute(
        RosterImport.__table__.update()
        .where(RosterImport.id == admin_job.id)
        .values(township_id=org.townships["葫芦镇"].id)
    )
    db.session.commit()
    assert client.get(f"/members/import/{admin_job.id}").status_code == 404
    assert client.post(f"/members/import/{admin_job.id}/confirm").status_code == 404
    assert login("secretary").get("/members/import").status_code == 403


def test_villages_not_in_the_tree_are_created_only_when_chosen(login, org, tmp_path):
    rows = [member_row("白岩村", 姓名="白岩一"), member_row("白岩村", 姓名="白岩二"),
            member_row("火星村", township="火星镇", 姓名="火星人")]  # fmt: skip
    path = write_xlsx(tmp_path / "a.xlsx", rows)
    client = login("admin")
    job = _job(_upload(client, path))
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "迁陵镇 · 白岩村党支部" in page and "不在保靖县的乡镇名单中" in page
    client.post(f"/members/import/{job.id}/confirm")  # not ticked: the two are refused
    db.session.refresh(job)
    assert (job.created_count, job.refused_count) == (0, 3)
    job2 = _job(_upload(client, path))
    client.post(f"/members/import/{job2.id}/confirm", {"create_villages": "y"})
    db.session.refresh(job2)
    assert (job2.created_count, job2.refused_count) == (2, 1)
    village = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "白岩村"))
    assert village.kind == VILLAGE and village.township_id == org.townships["迁陵镇"].id
    assert db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "org.create", AuditEntry.entity_id == village.id
        )
    )


def test_unknown_headings_get_a_mapping_step(login, org, tmp_path):
    headings = ["姓名", "公民身份证", "本人手机号", "所在党支部", "入党时间", "爱好"]
    row = member_row("踏梯村", 姓名="映射")
    row |= {"公民身份证": row["身份证号"], "本人手机号": row["手机号码"], "爱好": "唱山歌"}
    path = write_xlsx(tmp_path / "a.xlsx", [row], headings=headings)
    client = login("admin")
    job = _job(_upload(client, path))
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "缺少必需的列：身份证号、手机号码" in page and "第 2 列“公民身份证”" in page
    assert client.post(f"/members/import/{job.id}/confirm").status_code == 422
    bad = client.post(f"/members/import/{job.id}/mapping", {"col-1": "phone", "col-2": "phone"})
    assert bad.status_code == 422 and "对应了不止一列" in bad.get_data(as_text=True)
    mapped = {"col-0": "name", "col-1": "id_number", "col-2": "phone", "col-3": "village",
              "col-4": "join_date", "col-5": ""}  # fmt: skip
    assert client.post(f"/members/import/{job.id}/mapping", mapped).status_code == 303
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "<strong>1</strong> 人可新增登记" in page
    client.post(f"/members/import/{job.id}/confirm")
    assert db.session.scalar(select(Member).where(Member.name == "映射")) is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,id\n1,2\n", "不是 Excel 文件"),
        (b"PK\x03\x04 broken zip", "文件已损坏"),
        (b"", "请选择花名册文件"),
    ],
)
def test_a_file_that_is_not_a_roster_is_refused_next_to_the_field(login, org, content, message):
    client = login("admin")
    data = {"file": (io.BytesIO(content), "名册.xlsx")}
    response = client.post("/members/import", data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(RosterImport)) == 0


def test_a_double_tap_on_confirm_imports_once(login, org, tmp_path):
    client = login("admin")
    job = _job(_upload(client, write_xlsx(tmp_path / "a.xlsx", [member_row("踏梯村")])))
    first = client.post(f"/members/import/{job.id}/confirm")
    second = client.post(f"/members/import/{job.id}/confirm")
    assert first.status_code == second.status_code == 303
    assert _members() == 4


def test_a_confirm_without_csrf_token_changes_nothing(login, org, tmp_path):
    client = login("admin")
    job = _job(_upload(client, write_xlsx(tmp_path / "a.xlsx", [member_row("踏梯村")])))
    assert client.post(f"/members/import/{job.id}/confirm", csrf=False).status_code == 400
    assert _members() == 3


def test_an_interrupted_import_resumes_after_its_last_batch(login, org, tmp_path, monkeypatch, app):
    from baojing.services.roster import jobs

    monkeypatch.setattr(jobs, "BATCH_ROWS", 4)
    rows = [member_row("踏梯村", 姓名=f"续{n}") for n in range(10)]
    client = login("admin")
    job = _job(_upload(client, write_xlsx(tmp_path / "a.xlsx", rows)))
    real = jobs.apply_batch
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "apply_batch", crash_on_third)
    assert client.post(f"/members/import/{job.id}/confirm").status_code == 500
    db.session.rollback()
    db.session.execute(
        RosterImport.__table__.update().where(RosterImport.id == job.id).values(status="failed")
    )
    db.session.commit()
    assert _members() == 3 + 8
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "继续导入" in page and "第 8 / 10 行" in page
    monkeypatch.setattr(jobs, "apply_batch", real)
    assert client.post(f"/members/import/{job.id}/resume").status_code == 303
    db.session.refresh(job)
    assert (job.status, job.done_rows, job.created_count) == ("done", 10, 10)
    assert _members() == 3 + 10


def test_an_import_is_done_even_if_the_statistics_cannot_be_refreshed(
    login, org, tmp_path, monkeypatch
):
    """ANALYZE after an import is best effort: a busy database must not fail the import."""
    from sqlalchemy.exc import OperationalError

    from baojing.services.roster import jobs

    def busy():
        raise OperationalError("ANALYZE", {}, Exception("database is locked"))

    monkeypatch.setattr(jobs, "refresh_statistics", busy)
    client = login("admin")
    job = _job(_upload(client, write_xlsx(tmp_path / "a.xlsx", [member_row("踏梯村")])))
    assert client.post(f"/members/import/{job.id}/confirm").status_code == 303
    db.session.refresh(job)
    assert (job.status, job.created_count) == ("done", 1)
    assert _members() == 4


# --- the command line ---------------------------------------------------------------------


def test_cli_dry_run_prints_each_refused_row_and_writes_nothing(app, org, tmp_path):
    good, bad = _bad_rows()
    path = write_xlsx(tmp_path / "a.xlsx", good + bad)
    result = app.test_cli_runner().invoke(args=["members", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "新增 8，更新 0，未变 0，出错 4"
    assert [line.split("：")[0] for line in lines[:-1]] == ["第 11 行", "第 12 行", "第 13 行",
                                                           "第 14 行"]  # fmt: skip
    assert _members() == 3


def test_cli_import_with_new_villages(app, org, tmp_path):
    rows = [member_row("踏梯村", 姓名="甲"), member_row("白岩村", 姓名="乙")]
    path = write_xls(tmp_path / "a.xls", rows)
    runner = app.test_cli_runner()
    plain = runner.invoke(args=["members", "import", str(path)])
    assert plain.exit_code == 0
    assert plain.output.strip().splitlines()[-1] == "新增 1，更新 0，未变 0，出错 1"
    again = runner.invoke(args=["members", "import", str(path), "--create-villages"])
    assert again.output.strip().splitlines()[-1] == "新增 1，更新 0，未变 1，出错 0"
    assert db.session.scalar(select(Member).where(Member.name == "乙")).village.name == "白岩村"


def test_cli_refuses_a_file_it_cannot_read(app, org, tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_text("not a spreadsheet")
    result = app.test_cli_runner().invoke(args=["members", "import", str(path)])
    assert result.exit_code != 0 and "不是 Excel 文件" in result.output


# --- cells ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2010-07-01", date(2010, 7, 1)), ("2010.7", date(2010, 7, 1)), ("2010年7月1日", date(2010, 7, 1)),
        ("201007", date(2010, 7, 1)), ("20100701", date(2010, 7, 1)), (2010.07, date(2010, 7, 1)),
        (2010.12, date(2010, 12, 1)), (2010.2, date(2010, 2, 1)), (40360.0, date(2010, 7, 1)),
        ("２０１０．０７", date(2010, 7, 1)), ("", None),
    ],
)  # fmt: skip
def test_dates_as_rosters_write_them(cell, expected):
    assert fields.a_date(cell, "入党时间") == expected


@pytest.mark.parametrize("cell", [2010.1, "2010.13", "去年", "2010-02-30"])
def test_dates_that_cannot_be_read_say_why(cell):
    with pytest.raises(InvalidValue):
        fields.a_date(cell, "入党时间")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("浙江省宁波市北仑区新碶街道", ("浙江省", "宁波市", "北仑区新碶街道")),
        ("浙江宁波", ("浙江省", "宁波市", "")),
        ("宁波北仑", ("浙江省", "宁波市", "北仑")),
        ("上海市浦东新区张江镇", ("上海市", "浦东新区", "张江镇")),
        ("广东东莞", ("广东省", "东莞市", "")),
        ("", ("", "", "")),
    ],
)
def test_destinations_split_into_province_city_and_address(cell, expected):
    assert fields.destination(cell) == expected


def test_a_new_home_branch_in_the_file_moves_the_member_when_chosen(login, org, tmp_path):
    known = org.members["tati"]
    row = member_row("昂洞村", 姓名=known.name, 身份证号=known.id_number, 手机号码=known.phone,
                     入党时间=known.join_date)  # fmt: skip
    client = login("admin")
    job = _job(_upload(client, write_xlsx(tmp_path / "a.xlsx", [row])))
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "所在党支部：<del>踏梯村</del> → <ins>昂洞村</ins>" in page
    client.post(f"/members/import/{job.id}/confirm", {"update_all": "y"})
    member = db.session.get(Member, known.id)
    assert member.village_id == org.villages["angdong"].id and member.liaison_id is None
    move = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "member.move", AuditEntry.entity_id == known.id
        )
    )
    assert move.username == "admin" and "花名册导入" in move.after
    # The new village's secretary would see them now; the old one no longer does.
    assert login("secretary").get(f"/members/{known.id}").status_code == 404


def test_cli_import_is_audited_as_the_command_line(app, org, tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", [member_row("踏梯村", 姓名="命令行")])
    assert app.test_cli_runner().invoke(args=["members", "import", str(path)]).exit_code == 0
    member = db.session.scalar(select(Member).where(Member.name == "命令行"))
    entry = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "member.create", AuditEntry.entity_id == member.id
        )
    )
    assert entry.username == "cli" and "roster" in entry.after


# --- what a blank, a month or an edit made meanwhile means ------------------------------------


def test_blank_cells_and_months_never_count_as_changes(login, org, tmp_path):
    known = org.members["tati"]
    known.membership, known.has_certificate = "probationary", True
    db.session.commit()
    headings = [*HEADINGS, "党员类别", "是否持证"]
    row = member_row("踏梯村", 姓名=known.name, 身份证号=known.id_number, 手机号码=known.phone,
                     入党时间=f"{known.join_date:%Y.%m}")  # fmt: skip
    row.update({"外出时间": "", "外出地点": "", "务工单位": "", "从事行业": ""})
    path = write_xlsx(tmp_path / "a.xlsx", [row], headings=headings)
    client = login("admin")
    job = _job(_upload(client, path))
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "<strong>1</strong> 人已登记且信息相同" in page


def test_an_update_never_overwrites_an_edit_made_after_the_preview(login, org, tmp_path):
    known = org.members["tati"]
    row = member_row("踏梯村", 姓名=known.name, 身份证号=known.id_number, 手机号码="13307432222",
                     入党时间=known.join_date, 务工单位="新单位")  # fmt: skip
    client = login("admin")
    job = _job(_upload(client, write_xlsx(tmp_path / "a.xlsx", [row])))
    member = db.session.get(Member, known.id)
    member.phone = "13607439999"  # the secretary corrects it by hand meanwhile
    db.session.commit()
    client.post(f"/members/import/{job.id}/confirm", {"update": "3"})
    member = db.session.get(Member, known.id)
    assert member.phone == "13607439999" and member.employer == "新单位"


def test_a_village_merged_down_over_its_members_reaches_every_row(login, org, tmp_path):
    import xlsxwriter

    path = tmp_path / "merged-village.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["姓名", "身份证号", "手机号码", "入党时间", "所在党支部"])
    people = [member_row("踏梯村", 姓名=f"合{n}") for n in range(3)]
    for n, p in enumerate(people, 1):
        sheet.write_row(n, 0, [p["姓名"], p["身份证号"], p["手机号码"], "2012.07"])
    sheet.merge_range(1, 4, 3, 4, "踏梯村")
    other = book.add_worksheet("说明")
    other.write(0, 0, "填表说明")
    book.close()
    client = login("admin")
    job = _job(_upload(client, path))
    page = client.get(f"/members/import/{job.id}").get_data(as_text=True)
    assert "<strong>3</strong> 人可新增登记" in page
    assert "说明 没有读取" in page


def test_a_sheet_far_too_wide_is_refused_before_it_is_read(login, org, tmp_path):
    import xlsxwriter

    path = tmp_path / "wide.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["姓名", "身份证号"])
    sheet.write(1, 16000, "x")
    book.close()
    response = _upload(login("admin"), path)
    assert response.status_code == 422 and "多余的列" in response.get_data(as_text=True)


def test_a_preview_nobody_confirmed_expires_with_its_file(login, org, tmp_path, app):
    from datetime import timedelta

    from baojing.models.types import utcnow

    client = login("admin")
    job = _job(_upload(client, write_xlsx(tmp_path / "a.xlsx", [member_row("踏梯村")])))
    db.session.execute(
        RosterImport.__table__.update()
        .where(RosterImport.id == job.id)
        .values(created_at=utcnow() - timedelta(days=8))
    )
    db.session.commit()
    _upload(client, write_xlsx(tmp_path / "b.xlsx", [member_row("踏梯村")]))  # purges
    db.session.refresh(job)
    assert job.status == "cancelled" and job.preview == "{}"
    assert not (tmp_path / "uploads" / "roster" / f"{job.file_token}.xlsx").exists()
    assert client.post(f"/members/import/{job.id}/confirm").status_code == 303
    assert _members() == 3


def test_a_cell_an_export_neutralised_reads_back_as_it_was():
    assert fields.phone("'+8613907431234") == "13907431234"
    assert fields.text("'=1+1") == "=1+1"
    assert fields.text("'plain") == "'plain"


def test_a_year_alone_is_not_a_date():
    with pytest.raises(InvalidValue, match="只写了年份"):
        fields.a_date(2015, "外出时间")


def test_cli_counts_changed_rows_left_alone_and_says_so(app, org, tmp_path):
    known = org.members["tati"]
    row = member_row("踏梯村", 姓名=known.name, 身份证号=known.id_number, 手机号码="13307433333",
                     入党时间=known.join_date)  # fmt: skip
    path = write_xlsx(tmp_path / "a.xlsx", [row])
    runner = app.test_cli_runner()
    lines = runner.invoke(args=["members", "import", str(path), "--dry-run"]).output.splitlines()
    assert lines[-2:] == ["另有 1 人已登记但信息与表中不同，未更新（加 --update 可更新）",
                          "新增 0，更新 0，未变 1，出错 0"]  # fmt: skip
    updated = runner.invoke(args=["members", "import", str(path), "--update"])
    assert updated.output.strip().splitlines()[-1] == "新增 0，更新 1，未变 0，出错 0"
    assert db.session.get(Member, known.id).phone == "13307433333"


def test_an_id_number_ending_in_a_lower_case_x_is_stored_with_a_capital(login, org, tmp_path):
    from baojing.validators import id_check_char

    first17 = next(
        f"43312519850618{seq:03d}"
        for seq in range(1, 999, 2)
        if id_check_char(f"43312519850618{seq:03d}") == "X"
    )
    row = member_row("踏梯村", 姓名="小写x", 身份证号=f"{first17}x")
    path = write_xls(tmp_path / "x.xls", [row])
    client = login("admin")
    client.post(f"/members/import/{_job(_upload(client, path)).id}/confirm")
    member = db.session.scalar(select(Member).where(Member.name == "小写x"))
    assert member.id_number == f"{first17}X" and member.id_tail.endswith("X")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("土家族", "土家族"), ("土家", "土家族"), ("土", "土家族"), ("土族", "土族"), ("苗", "苗族"),
     ("布依族", "布依族"), ("柯尔克孜", "柯尔克孜族"), ("", "")],
)  # fmt: skip
def test_a_roster_ethnicity_becomes_one_of_the_56(cell, expected):
    assert fields.ethnicity(cell) == expected


@pytest.mark.parametrize("cell", ["其他", "外国", "穿青人"])
def test_a_roster_ethnicity_outside_the_56_is_refused_with_its_reason(cell):
    with pytest.raises(InvalidValue, match="不是 56 个民族之一"):
        fields.ethnicity(cell)


def test_a_roster_column_saying_a_card_is_held_is_not_read(login, org, tmp_path):
    """Who holds a card follows the certificates issued here, not what a sheet claims."""
    row = member_row("踏梯村", 姓名="持证申报")
    row["是否持证"] = "是"
    path = write_xlsx(tmp_path / "r.xlsx", [row], headings=[*HEADINGS, "是否持证"])
    client = login("admin")
    job = _job(_upload(client, path))
    assert client.post(f"/members/import/{job.id}/confirm").status_code == 303
    imported = db.session.scalar(select(Member).where(Member.name == "持证申报"))
    assert imported is not None and imported.has_certificate is False
