def test_secretary_sees_own_member(login, org):
    c = login("secretary")
    page = c.get("/members/").get_data(as_text=True)
    assert "向光明" in page
    assert "田新民" not in page
