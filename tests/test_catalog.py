"""The catalogue of 交易品种 and 流转方式: seeded by the migration, edited by the admin only."""
import pytest
from sqlalchemy import select

from exchange.access import AccessDenied
from exchange.catalog import services as cat_svc
from exchange.catalog.data import CATEGORIES
from exchange.catalog.models import Category, TransferMethod
from tests.factories import PASSWORD
from tests.helpers import get_csrf, login, post_form, text


@pytest.mark.article("第九条")
def test_migration_seeds_the_eleven_categories(db):
    cats = db.session.scalars(select(Category).order_by(Category.seq)).all()
    assert [c.name for c in cats] == [c[1] for c in CATEGORIES] and len(cats) == 11
    land = cats[0]
    assert [m.name for m in land.methods] == ["出租", "入股"] and land.announce_days == 5 and not land.collective
    assert cats[4].collective and cats[4].announce_days == 10
    assert cats[8].restricts_buyers  # 宅基地和住宅


def test_admin_edits_category_and_methods(users, db):
    land = db.session.scalar(select(Category).where(Category.code == "C01"))
    cat_svc.update_category(users["admin"], land, name=land.name, announce_days=7, collective=False,
                            restricts_buyers=False, farmland=True, active=True)
    method = cat_svc.add_method(users["admin"], land, "转包")
    assert method.active and land.announce_days == 7
    with pytest.raises(cat_svc.CatalogError):
        cat_svc.add_method(users["admin"], land, "转包")
    cat_svc.set_method_active(users["admin"], method, False)
    assert method not in land.active_methods()
    for m in list(land.active_methods())[:-1]:
        cat_svc.set_method_active(users["admin"], m, False)
    with pytest.raises(cat_svc.CatalogError):  # the last one stays
        cat_svc.set_method_active(users["admin"], land.active_methods()[0], False)


def test_only_admin_edits_the_catalogue(users, db):
    land = db.session.scalar(select(Category).where(Category.code == "C01"))
    for key in ["center_reviewer", "supervisor", "station_a"]:
        with pytest.raises(AccessDenied):
            cat_svc.add_method(users[key], land, "乱加")
    assert db.session.scalar(select(TransferMethod).where(TransferMethod.name == "乱加")) is None


def test_catalog_pages(client, users, db):
    login(client, "t_admin", PASSWORD)
    assert "农村集体经营性资产" in text(client.get("/admin/catalog"))
    land = db.session.scalar(select(Category).where(Category.code == "C01"))
    resp = post_form(client, f"/admin/catalog/{land.id}", {"name": land.name, "announce_days": "0", "active": "y"})
    assert "1–60" in text(resp)
    resp = post_form(client, f"/admin/catalog/{land.id}/methods", {"name": "转包"}, page=f"/admin/catalog/{land.id}",
                     follow=True)
    assert "已增加流转方式" in text(resp)
    client.post("/logout", data={"csrf_token": get_csrf(client, "/work")})
    login(client, "t_station_a", PASSWORD)
    assert client.get("/admin/catalog").status_code == 403


def test_catalog_api_is_public(client):
    data = client.get("/api/v1/catalog/categories").get_json()
    assert len(data) == 11 and data[0]["methods"][0]["name"] == "出租"
