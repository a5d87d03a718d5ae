"""Service users (issue 13): outside users register at /register and wait for an administrator's
approval; bad or forged input is refused in Chinese and nothing is saved; registering is
rate-limited; on-campus users are created by administrators with their lab, project account and PI."""
import re
import uuid

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import CustomerOrg, PlatformUser, ServiceUser, Unit

from . import factories as f
from .conftest import PASSWORD, csrf_token, login


def form(**change):
    data = {"name": "钱多多", "mobile": "13912345678", "email": "qian@lab-corp.example.com", "username": "qianduoduo",
            "password": "secret-123", "password_again": "secret-123", "org_id": "", "org_name": "湖南示例检测有限公司",
            "org_category": "enterprise", "credit_code": "91430100MA4L2B8R68"}
    data.update(change)
    return data


def count(app, model, *where):
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()
        db.session.remove()
        return n


def field_error(html, field):
    block = html[html.index(f'id="{field}"'):]
    block = block[: block.index("</div>")]
    m = re.search(r'help-block">([^<]+)</span>', block)
    return m.group(1) if m else ""


@pytest.fixture
def cleanup(app):
    yield
    with app.app_context():
        for user in db.session.execute(sa.select(ServiceUser).where(ServiceUser.name.in_(["钱多多", "校内新用户"]))).scalars():
            account = user.account
            db.session.delete(user)
            if account is not None:
                db.session.delete(account)
        db.session.execute(sa.delete(CustomerOrg).where(CustomerOrg.name == "湖南示例检测有限公司"))
        db.session.commit()
        db.session.remove()


def test_register_then_wait_for_approval(app, client, login_as, cleanup):
    page = client.get("/register/")
    assert page.status_code == 200 and "注册预约账号" in page.get_data(as_text=True)
    token = csrf_token(client, "/register/")
    done = client.post("/register/", data={**form(credit_code="9143 0100 MA4L 2B8R 68"), "csrf_token": token})
    assert done.status_code == 200 and "注册申请已提交" in done.get_data(as_text=True)
    with app.app_context():
        user = db.session.execute(sa.select(ServiceUser).filter_by(name="钱多多")).scalar_one()
        assert user.status == "pending" and not user.account.active and not user.org.affiliated
        assert user.org.category == "enterprise" and user.org.credit_code == "91430100MA4L2B8R68"
        pk = user.id
        db.session.remove()
    # not yet usable
    stranger = app.test_client()
    login = stranger.post("/login/", data={"username": "qianduoduo", "password": "secret-123",
                                           "csrf_token": csrf_token(stranger)})
    with stranger.session_transaction() as sess:
        assert not sess.get("_user_id")
    # a college administrator approves it from the queue
    college = login_as("college_admin")
    queue = college.get("/registrationqueueview/list/").get_data(as_text=True)
    assert "钱多多" in queue
    token = csrf_token(college, f"/registrationqueueview/show/{pk}")
    decided = college.post(f"/registrationqueueview/decide/{pk}/approve", data={"csrf_token": token})
    assert decided.status_code == 302
    assert f"/registrationqueueview/show/{pk}" not in college.get("/registrationqueueview/list/").get_data(as_text=True)
    login = stranger.post("/login/", data={"username": "qianduoduo", "password": "secret-123",
                                           "csrf_token": csrf_token(stranger)})
    assert login.status_code == 302
    with stranger.session_transaction() as sess:
        assert sess.get("_user_id")
    assert login.status_code == 302


@pytest.mark.parametrize("change,field,message", [
    ({"mobile": "15412345678"}, "mobile", "请输入11位大陆手机号码"),
    ({"email": "qian@"}, "email", "请输入有效的电子邮箱"),
    ({"username": "q"}, "username", "用户名须为"),
    ({"username": "lab_admin"}, "username", "该用户名已被使用"),
    # FAB signs in by lower(username): another case of a taken name would lock its owner out (issue 21, 1.1)
    ({"username": "LAB_ADMIN"}, "username", "该用户名已被使用"),
    ({"username": "School_Admin"}, "username", "该用户名已被使用"),
    ({"email": "Lab_Admin@Example.EDU.cn"}, "email", "该电子邮箱已注册"),
    # longer than their columns: PostgreSQL refused the row with a 500 (issue 21, "also")
    ({"name": "钱" * 65}, "name", "最多 64 个字符"),
    ({"email": "q" * 110 + "@example.com"}, "email", "最多 120 个字符"),
    ({"org_name": "湖南" * 101}, "org_name", "最多 200 个字符"),
    ({"password_again": "other-123"}, "password_again", "两次输入的密码不一致"),
    ({"credit_code": "91430100MA4L2B8R69"}, "credit_code", "统一社会信用代码无效"),
    ({"org_category": "campus"}, "org_category", "只能由学校管理员设定"),
    ({"affiliated": "y"}, "org_category", "只能由学校管理员设定"),
    ({"org_name": "", "org_id": ""}, "org_id", "请选择所在单位"),
    ({"org_category": ""}, "org_category", "请选择单位类别"),
])
def test_bad_or_forged_registrations_save_nothing(app, client, change, field, message):
    before = count(app, ServiceUser), count(app, PlatformUser), count(app, CustomerOrg)
    token = csrf_token(client, "/register/")
    resp = client.post("/register/", data={**form(**change), "csrf_token": token})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and message in field_error(html, field), field_error(html, field)
    assert (count(app, ServiceUser), count(app, PlatformUser), count(app, CustomerOrg)) == before
    assert f'value="{form(**change)["name"]}"' in html  # what was typed is kept


def test_a_name_in_another_case_never_locks_its_owner_out(app, client):
    """Registering `LAB_ADMIN` once created an inactive row beside `lab_admin`, and FAB's sign-in by
    lower(username) then found two rows and let neither in. Refused above; the database holds the rule too,
    and lab_admin still signs in on the screen and through the REST login."""
    token = csrf_token(client, "/register/")
    refused = client.post("/register/", data={**form(username="LAB_ADMIN", email="other@lab-corp.example.com"),
                                               "csrf_token": token})
    assert "该用户名已被使用" in field_error(refused.get_data(as_text=True), "username")
    assert count(app, PlatformUser, sa.func.lower(PlatformUser.username) == "lab_admin") == 1
    with app.app_context():
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE ab_user SET username = 'LAB_ADMIN' WHERE username = 'college_admin'"))
        db.session.rollback()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE ab_user SET email = 'LAB_ADMIN@example.edu.cn' WHERE username = 'college_admin'"))
        db.session.rollback()
        db.session.remove()
    login(app.test_client(), "lab_admin")
    api = app.test_client().post("/api/v1/security/login", json={"username": "lab_admin", "password": PASSWORD,
                                                                  "provider": "db"})
    assert api.status_code == 200 and api.get_json()["access_token"]


def test_the_user_screen_refuses_a_name_in_another_case(app, login_as):
    school = login_as("school_admin")
    token = csrf_token(school, "/users/add")
    with app.app_context():
        role_id = db.session.execute(sa.text("SELECT id FROM ab_role WHERE name = 'LabAdmin'")).scalar()
        db.session.remove()
    page = school.post("/users/add", data={"first_name": "冒", "last_name": "名", "username": "Lab_Admin", "active": "y",
                                           "email": "LAB_ADMIN@example.edu.cn", "roles": str(role_id), "password": "secret-123",
                                           "conf_password": "secret-123", "csrf_token": token})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "该用户名已被使用" in html and "该电子邮箱已注册" in html
    assert count(app, PlatformUser, sa.func.lower(PlatformUser.username) == "lab_admin") == 1


def test_registering_is_rate_limited(database_url, uni):
    # counters of its own: on CI's Redis an earlier run's counts of this address live for the hour
    limited = create_app("config.TestConfig", SQLALCHEMY_DATABASE_URI=database_url, REGISTRATION_RATE_LIMIT="2 per hour",
                         RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    client = limited.test_client()
    codes = [client.post("/register/", data={**form(username=f"x{i}", mobile="1"), "csrf_token": csrf_token(client, "/register/")})
             .status_code for i in range(3)]
    assert codes == [200, 200, 429]  # the first two refused for their mobile, the third not even read
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_administrator_creates_an_on_campus_user_with_an_account(app, uni, login_as, cleanup):
    with app.app_context():
        campus = db.session.execute(sa.select(CustomerOrg).where(CustomerOrg.category == "campus")).scalars().first()
        pi = f.person(db.session.get(Unit, uni.l12), name="材料课题负责人")
        db.session.commit()
        campus_id, pi_id = campus.id, pi.id
        db.session.remove()
    college = login_as("college_admin")
    token = csrf_token(college, "/serviceuserview/add")
    base = {"csrf_token": token, "name": "校内新用户", "org": campus_id, "unit": uni.l12, "mobile": "13812345678",
            "email": "xin@example.edu.cn", "username": "campus_new", "password": "secret-123"}
    missing = college.post("/serviceuserview/add", data=base)
    assert "请填写费用结算的经费卡号/项目号" in missing.get_data(as_text=True)
    done = college.post("/serviceuserview/add", data={**base, "project_account": "2026KY0042", "pi": pi_id})
    assert done.status_code == 302, done.get_data(as_text=True)[-1500:]
    with app.app_context():
        user = db.session.execute(sa.select(ServiceUser).filter_by(name="校内新用户")).scalar_one()
        assert user.status == "active" and user.account.username == "campus_new" and user.unit_id == uni.l12
        assert [r.name for r in user.account.roles] == ["ServiceUser"] and user.account.unit_id is None
        db.session.remove()


def test_only_administrators_set_affiliation(app, uni, login_as):
    lab = login_as("lab_admin")
    assert lab.get("/customerorgview/list/").status_code == 200  # labs read
    with app.app_context():
        org = db.session.execute(sa.select(CustomerOrg).where(CustomerOrg.category == "enterprise")).scalars().first()
        org_id, before = org.id, org.affiliated
        db.session.remove()
    token = csrf_token(lab, "/customerorgview/list/")
    resp = lab.post(f"/customerorgview/edit/{org_id}", data={"csrf_token": token, "name": "改名", "category": "enterprise",
                                                            "affiliated": "y"})
    assert resp.status_code in (302, 403)
    with app.app_context():
        assert db.session.get(CustomerOrg, org_id).affiliated == before
        db.session.remove()
