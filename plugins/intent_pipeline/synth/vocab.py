"""Word lists the generator draws from: names, companies, titles, pages, forms, traffic sources.

Every Chinese string here must be encodable in GBK, because one jinshuju export is
written the way Excel saves it in China (the tests decode that file with ``gbk``).
"""

from __future__ import annotations

SITE = "https://www.example-saas.com"

# (hanzi, pinyin) so that email local parts look like the ones Chinese people choose.
CN_SURNAMES = [
    ("张", "zhang"),
    ("王", "wang"),
    ("李", "li"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("许", "xu"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("彭", "peng"),
    ("曾", "zeng"),
    ("肖", "xiao"),
    ("田", "tian"),
    ("董", "dong"),
    ("潘", "pan"),
]
CN_GIVEN = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂英", "guiying"),
    ("晨", "chen"),
    ("浩", "hao"),
    ("婷", "ting"),
    ("雪", "xue"),
    ("鑫", "xin"),
    ("宇", "yu"),
    ("建华", "jianhua"),
    ("志强", "zhiqiang"),
    ("晓东", "xiaodong"),
    ("海燕", "haiyan"),
    ("子涵", "zihan"),
    ("欣怡", "xinyi"),
    ("梓轩", "zixuan"),
    ("佳琪", "jiaqi"),
    ("俊杰", "junjie"),
    ("思远", "siyuan"),
    ("文博", "wenbo"),
    ("雨桐", "yutong"),
]
EN_FIRST = [
    "James",
    "Emily",
    "David",
    "Sarah",
    "Michael",
    "Jessica",
    "Daniel",
    "Laura",
    "Kevin",
    "Grace",
    "Jason",
    "Amy",
    "Eric",
    "Linda",
    "Tony",
    "Cindy",
    "Peter",
    "Helen",
    "Mark",
    "Vivian",
    "Chris",
    "Anna",
    "Steven",
    "Rachel",
    "Andrew",
    "Olivia",
    "Brian",
    "Sophie",
    "Ryan",
    "Karen",
    "Leo",
    "Iris",
]
EN_LAST = [
    "Smith",
    "Johnson",
    "Brown",
    "Miller",
    "Wilson",
    "Taylor",
    "Anderson",
    "Thomas",
    "Moore",
    "Clark",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Wong",
    "Lee",
    "Tan",
    "Lim",
    "Ng",
    "Schmidt",
    "Mueller",
    "Martin",
    "Dubois",
    "Kim",
    "Park",
    "Sato",
    "Tanaka",
    "Garcia",
    "Lopez",
    "Walker",
    "Young",
]

PERSONAL_DOMAINS_CN = ["163.com", "qq.com", "126.com", "gmail.com", "sina.com", "outlook.com", "foxmail.com"]
PERSONAL_DOMAINS_EN = ["gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com"]
# Typos people make in domains; each result is still a syntactically valid address.
DOMAIN_TYPOS = {
    "gmail.com": "gmial.com",
    "163.com": "163.cm",
    "qq.com": "qq.con",
    "outlook.com": "outlok.com",
    "hotmail.com": "hotmial.com",
    "126.com": "126.con",
    "yahoo.com": "yaho.com",
}

# (English, Chinese, in the target industry set)
INDUSTRIES = [
    ("Manufacturing", "制造业", True),
    ("Retail", "零售", True),
    ("Financial Services", "金融", True),
    ("Technology", "互联网", False),
    ("Education", "教育", False),
    ("Healthcare", "医疗", False),
    ("Logistics", "物流", False),
    ("Energy", "能源", False),
    ("Real Estate", "房地产", False),
    ("Media", "传媒", False),
    ("Government", "政府", False),
]
INDUSTRY_WEIGHTS = [18, 14, 12, 16, 7, 7, 7, 5, 5, 5, 3]
# Words that make a company name sound like its industry: (Chinese, pinyin slug, English)
INDUSTRY_WORDS = {
    "Manufacturing": [("精密制造", "jm", "Precision"), ("机械", "jx", "Machinery"), ("智能装备", "zn", "Robotics")],
    "Retail": [("商贸", "sm", "Retail"), ("百货", "bh", "Stores"), ("电商", "ds", "Commerce")],
    "Financial Services": [("金融", "jr", "Capital"), ("保险", "bx", "Insurance"), ("银行", "yh", "Bank")],
    "Technology": [("科技", "kj", "Technologies"), ("网络", "wl", "Networks"), ("软件", "rj", "Software")],
    "Education": [("教育", "jy", "Education"), ("学堂", "xt", "Learning")],
    "Healthcare": [("医疗", "yl", "Health"), ("生物", "sw", "Biotech")],
    "Logistics": [("物流", "wl", "Logistics"), ("供应链", "gyl", "Supply Chain")],
    "Energy": [("能源", "ny", "Energy"), ("新能源", "xny", "Power")],
    "Real Estate": [("置业", "zy", "Properties"), ("地产", "dc", "Realty")],
    "Media": [("传媒", "cm", "Media"), ("文化", "wh", "Studios")],
    "Government": [("信息中心", "xxzx", "Public Data Center")],
}
CN_COMPANY_HEADS = [
    ("华瑞", "huarui"),
    ("东方", "dongfang"),
    ("中科", "zhongke"),
    ("新天", "xintian"),
    ("恒信", "hengxin"),
    ("宏达", "hongda"),
    ("远航", "yuanhang"),
    ("海纳", "haina"),
    ("金鼎", "jinding"),
    ("天成", "tiancheng"),
    ("博远", "boyuan"),
    ("瑞丰", "ruifeng"),
    ("启明", "qiming"),
    ("万象", "wanxiang"),
    ("鼎盛", "dingsheng"),
    ("嘉禾", "jiahe"),
    ("星河", "xinghe"),
    ("云图", "yuntu"),
    ("正泰", "zhengtai"),
    ("汇通", "huitong"),
    ("联创", "lianchuang"),
    ("智源", "zhiyuan"),
    ("长风", "changfeng"),
    ("统一", "tongyi"),
]
CN_COMPANY_TAILS = [
    ("", ""),
    ("达", "da"),
    ("盛", "sheng"),
    ("源", "yuan"),
    ("通", "tong"),
    ("泰", "tai"),
    ("信", "xin"),
    ("安", "an"),
    ("和", "he"),
    ("丰", "feng"),
    ("创", "chuang"),
    ("新", "xin"),
]
EN_COMPANY_HEADS = [
    "Northwind",
    "Bluewave",
    "Summit",
    "Evergreen",
    "Pioneer",
    "Redwood",
    "Silverline",
    "Brightpath",
    "Crestview",
    "Ironbridge",
    "Lakeside",
    "Nova",
    "Orion",
    "Pacific",
    "Quantum",
    "Riverstone",
    "Sterling",
    "Trident",
    "Vertex",
    "Westfield",
    "Apex",
    "Harbor",
    "Keystone",
    "Meridian",
]
EN_COMPANY_SUFFIXES = ["Ltd", "Inc", "Group", "Co.", "Holdings", "Pte Ltd"]

# (city Chinese, city English, CRM region)
CITIES = [
    ("上海", "Shanghai", "East China"),
    ("杭州", "Hangzhou", "East China"),
    ("苏州", "Suzhou", "East China"),
    ("南京", "Nanjing", "East China"),
    ("北京", "Beijing", "North China"),
    ("天津", "Tianjin", "North China"),
    ("深圳", "Shenzhen", "South China"),
    ("广州", "Guangzhou", "South China"),
    ("成都", "Chengdu", "Southwest China"),
    ("重庆", "Chongqing", "Southwest China"),
    ("武汉", "Wuhan", "Central China"),
    ("西安", "Xi'an", "Northwest China"),
    ("香港", "Hong Kong", "Hong Kong"),
    ("新加坡", "Singapore", "APAC"),
]
CITY_WEIGHTS = [20, 8, 7, 5, 18, 3, 12, 8, 5, 3, 4, 3, 2, 2]

# (title, seniority); seniority drives "director or above" in scoring.
JOB_TITLES = [
    ("CEO", "c_level", 2),
    ("总裁", "c_level", 2),
    ("总经理", "c_level", 3),
    ("CTO", "c_level", 2),
    ("CIO", "c_level", 1),
    ("首席数字官", "c_level", 1),
    ("VP Marketing", "vp", 2),
    ("VP Sales", "vp", 2),
    ("副总裁", "vp", 2),
    ("Director of IT", "director", 3),
    ("Marketing Director", "director", 3),
    ("市场总监", "director", 4),
    ("销售总监", "director", 3),
    ("IT总监", "director", 3),
    ("总监", "director", 3),
    ("Head of Data", "director", 2),
    ("销售经理", "manager", 7),
    ("市场经理", "manager", 7),
    ("Marketing Manager", "manager", 5),
    ("IT Manager", "manager", 4),
    ("产品经理", "manager", 5),
    ("运营经理", "manager", 4),
    ("Engineer", "individual", 6),
    ("工程师", "individual", 8),
    ("Software Engineer", "individual", 4),
    ("数据分析师", "individual", 5),
    ("Data Analyst", "individual", 3),
    ("市场专员", "individual", 6),
    ("销售代表", "individual", 4),
    ("Intern", "intern", 2),
    ("实习生", "intern", 3),
    ("学生", "intern", 1),
]
DIRECTOR_PLUS = {"c_level", "vp", "director"}

# (bucket, typical head count for the CRM's numeric Employees column)
COMPANY_SIZES = [
    ("1-49", 25),
    ("50-199", 120),
    ("200-499", 350),
    ("500-999", 700),
    ("1000-4999", 2500),
    ("5000+", 12000),
]
COMPANY_SIZE_WEIGHTS = [20, 25, 20, 14, 13, 8]

SALES_OWNERS = ["李娜", "王磊", "陈静", "刘洋", "Emily Chen", "David Wu", "Kevin Zhang", "Grace Lin"]

# CRM activities (sales follow-up on a lead): (type, weight of a first follow-up, weight later, subjects
# in Chinese, subjects in English). A first touch is mostly a call or an email, meetings come later.
ACTIVITY_TYPES = [
    ("Call", 50, 30, ["首次电话沟通", "电话跟进", "需求确认电话"], ["Intro call", "Follow-up call", "Discovery call"]),
    ("Email", 35, 30, ["发送产品资料", "邮件跟进", "发送报价单"], ["Deck sent", "Follow-up email", "Quote sent"]),
    ("Task", 12, 15, ["安排试用账号", "整理客户需求", "准备方案"], ["Set up trial", "Qualify lead", "Draft proposal"]),
    ("Meeting", 3, 25, ["产品演示会议", "上门拜访", "方案讲解"], ["Product demo", "On-site visit", "Proposal review"]),
]

# Forms: (form type, Chinese name used on jinshuju, English name used on typeform / HubSpot, landing path)
FORMS = {
    "trial": ("免费试用申请", "Free Trial", "/trial"),
    "demo": ("预约演示", "Book a Demo", "/demo"),
    "pricing": ("价格咨询", "Pricing Inquiry", "/pricing"),
    "whitepaper": ("白皮书下载：制造业数字化", "Whitepaper: Retail AI", "/whitepapers/"),
    "webinar": ("网络研讨会报名", "Webinar Registration", "/webinars/customer-data-summit-2026"),
    "brochure": ("产品手册下载", "Product Brochure", "/resources/product-brochure"),
    "contact": ("联系我们", "Contact Us", "/contact"),
}
WHITEPAPER_PATHS = {"zh": "/whitepapers/manufacturing-digitalization", "en": "/whitepapers/retail-ai"}
SALES_FORMS = {"trial", "demo", "pricing", "contact"}

PAGES = {
    "/": "Example SaaS | 客户数据平台",
    "/product": "产品介绍 | Example SaaS",
    "/product/features": "Features | Example SaaS",
    "/product/integrations": "Integrations | Example SaaS",
    "/pricing": "价格 Pricing | Example SaaS",
    "/trial": "免费试用 Free Trial | Example SaaS",
    "/demo": "预约演示 Book a Demo | Example SaaS",
    "/contact": "联系我们 Contact | Example SaaS",
    "/login": "Log in | Example SaaS",
    "/careers": "加入我们 Careers | Example SaaS",
    "/resources/product-brochure": "产品手册 Product Brochure | Example SaaS",
    "/webinars/customer-data-summit-2026": "Webinar: Customer Data Summit 2026 | Example SaaS",
    "/whitepapers/manufacturing-digitalization": "白皮书：制造业数字化 | Example SaaS",
    "/whitepapers/retail-ai": "Whitepaper: Retail AI | Example SaaS",
}
BLOG_SLUGS = [
    "what-is-a-cdp",
    "lead-scoring-101",
    "wechat-marketing-automation",
    "b2b-attribution-models",
    "first-party-data",
    "email-deliverability-tips",
    "ga4-migration-guide",
    "marketing-ops-checklist",
    "customer-journey-mapping",
    "account-based-marketing",
    "data-privacy-pipl",
    "ai-in-marketing",
]
CASE_STUDY_SLUGS = ["haier-style-manufacturer", "fashion-retail-chain", "regional-bank", "logistics-leader"]
CAREER_SLUGS = ["data-engineer", "account-executive", "customer-success-manager", "frontend-engineer"]
FILES = {
    "whitepaper_zh": "/files/manufacturing-digitalization-whitepaper.pdf",
    "whitepaper_en": "/files/retail-ai-whitepaper.pdf",
    "brochure": "/files/example-saas-brochure.pdf",
}

# Session traffic (source, medium, campaign, tagged with UTM, gclid, weight).
TRAFFIC = [
    ("google", "organic", None, False, False, 14),
    ("google", "cpc", "brand_search_cn", True, True, 7),
    ("baidu", "organic", None, False, False, 18),
    ("baidu", "cpc", "baidu_sem_cdp", True, False, 7),
    ("bing", "organic", None, False, False, 5),
    ("wechat", "social", "wechat_article_weekly", True, False, 12),
    ("linkedin", "social", None, False, False, 4),
    ("linkedin", "paid_social", "linkedin_abm_q4", True, False, 4),
    ("36kr.com", "referral", None, False, False, 3),
    ("(direct)", "(none)", None, False, False, 22),
]
REFERRERS = {
    "google": "https://www.google.com/",
    "baidu": "https://www.baidu.com/",
    "bing": "https://cn.bing.com/",
    "wechat": "https://mp.weixin.qq.com/",
    "linkedin": "https://www.linkedin.com/",
    "36kr.com": "https://36kr.com/",
}
# How each form tool names the source of a submission.
JINSHUJU_SOURCE = {
    "google": "谷歌",
    "baidu": "百度",
    "bing": "必应",
    "wechat": "微信公众号",
    "linkedin": "领英",
    "newsletter": "邮件",
    "36kr.com": "36氪",
    "(direct)": "官网",
}
HUBSPOT_SOURCE = {
    "organic": "Organic Search",
    "cpc": "Paid Search",
    "social": "Social Media",
    "paid_social": "Paid Social",
    "email": "Email Marketing",
    "referral": "Referrals",
    "(none)": "Direct Traffic",
}

DEVICES = [
    ("desktop", "Windows", "Chrome", 40),
    ("desktop", "Macintosh", "Safari", 12),
    ("desktop", "Windows", "Edge", 10),
    ("mobile", "iOS", "Safari", 18),
    ("mobile", "Android", "Chrome", 12),
    ("mobile", "Android", "WeChat", 6),
    ("tablet", "iOS", "Safari", 2),
]
BOT_BROWSERS = ["HeadlessChrome", "python-requests", "Scrapy", "PhantomJS", "curl"]
BOT_GEOS = [("United States", "Ashburn"), ("Singapore", "Singapore"), ("Germany", "Frankfurt"), ("China", "Beijing")]

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605",
    "Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) MicroMessenger/8.0.42 Mobile",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0 Safari/537.36 Foxmail",
]

# Email campaigns: (kind, name, categories, link path)
CAMPAIGN_KINDS = {
    "newsletter": ("Weekly Newsletter", ["newsletter"], "/blog/"),
    "webinar": ("Webinar Invite: Customer Data Summit", ["webinar", "event"], "/webinars/customer-data-summit-2026"),
    "whitepaper": ("Whitepaper Promo", ["content", "whitepaper"], "/whitepapers/manufacturing-digitalization"),
    "product": ("Product Update", ["product_update"], "/product/features"),
    "pricing": ("Year-end Offer", ["promotion"], "/pricing"),
}
BOUNCE_REASONS = [
    ("550 5.1.1 The email account that you tried to reach does not exist.", "5.1.1", "bounce"),
    ("550 5.7.1 Message rejected due to content restrictions", "5.7.1", "blocked"),
    ("552 5.2.2 Mailbox full", "5.2.2", "bounce"),
]

# UTC hour weights of human activity: Chinese office hours are 01:00-10:00 UTC.
HOUR_WEIGHTS = [6, 9, 10, 10, 8, 9, 10, 10, 9, 7, 5, 5, 6, 5, 3, 1, 1, 1, 1, 1, 1, 1, 2, 4]

# Nicknames people write in a form instead of their given name (pollution "polluted").
NICKNAMES = {
    "James": ["Jim", "Jimmy"],
    "Emily": ["Em", "Emmy"],
    "David": ["Dave"],
    "Michael": ["Mike"],
    "Jessica": ["Jess"],
    "Daniel": ["Dan", "Danny"],
    "Kevin": ["Kev"],
    "Jason": ["Jay"],
    "Tony": ["Anthony"],
    "Cindy": ["Cynthia"],
    "Peter": ["Pete"],
    "Steven": ["Steve"],
    "Andrew": ["Andy", "Drew"],
    "Olivia": ["Liv"],
    "Sophie": ["Sophia"],
    "Chris": ["Christopher"],
    "Rachel": ["Rach"],
    "Laura": ["Laurie"],
}
# English names Chinese professionals go by at work (Kevin Wang for 王伟), pollution "polluted".
EN_NAMES_OF_CHINESE = [
    "Kevin", "Jason", "Tony", "Eric", "Leo", "Jack", "Frank", "Vincent", "Allen", "Jerry",
    "Cindy", "Grace", "Vivian", "Amy", "Iris", "Helen", "Linda", "Coco", "Sunny", "Joyce",
]  # fmt: skip
# Pinyin of the Chinese surnames and given names above, for their romanised spellings.
PINYIN_OF = dict(CN_SURNAMES + CN_GIVEN)
