"""Words the generator builds names, captions, comments and products from (Vietnamese and English).

Plain data, kept apart from the simulation so the generator reads as behaviour.
"""

from __future__ import annotations

from typing import Final

VI_GIVEN: Final = (
    "Linh",
    "Trang",
    "Huyền",
    "Minh Anh",
    "Ngọc",
    "Hà",
    "Thảo",
    "Vy",
    "Tuấn",
    "Huy",
    "Khoa",
    "Nam",
    "Phương",
    "Mai",
    "Lan",
    "Quân",
    "Đức",
    "Hiếu",
    "Trâm",
    "Yến",
    "Châu",
    "Bảo",
    "Long",
    "Tú",
    "An",
    "Nhi",
    "Giang",
    "Hân",
    "Khánh",
    "Thư",
)
VI_FAMILY: Final = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi", "Đỗ", "Ngô")
EN_GIVEN: Final = (
    "Emma",
    "Olivia",
    "Ava",
    "Mia",
    "Sophie",
    "Chloe",
    "Liam",
    "Noah",
    "Ethan",
    "Lucas",
    "Mason",
    "Jack",
    "Leo",
    "Grace",
    "Lily",
    "Zoe",
    "Ryan",
    "Kevin",
    "Jenny",
    "Tom",
    "Anna",
    "Max",
)
HANDLE_SEPARATORS: Final = ("", ".", "_")

# ASCII folding for handles built from Vietnamese names.
_VI_FOLD = str.maketrans(
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ",
    "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd"
    "AAAAAAAAAAAAAAAAAEEEEEEEEEEEIIIIIOOOOOOOOOOOOOOOOOUUUUUUUUUUUYYYYYD",
)


def ascii_fold(text: str) -> str:
    return text.translate(_VI_FOLD)


NICHES: Final = (
    "beauty",
    "fashion",
    "food",
    "travel",
    "gaming",
    "tech",
    "fitness",
    "comedy",
    "music",
    "education",
    "parenting",
    "finance",
)

# Relative popularity of each niche among creators (same order as NICHES).
NICHE_WEIGHTS: Final = (14, 12, 12, 8, 9, 7, 7, 10, 6, 6, 5, 4)

# Share of a video's new viewers who buy the featured product, before audience quality.
NICHE_CONVERSION: Final = {
    "beauty": 0.0040,
    "fashion": 0.0032,
    "food": 0.0025,
    "travel": 0.0006,
    "gaming": 0.0010,
    "tech": 0.0012,
    "fitness": 0.0018,
    "comedy": 0.0005,
    "music": 0.0004,
    "education": 0.0010,
    "parenting": 0.0030,
    "finance": 0.0005,
}

HANDLE_WORDS: Final = {
    "beauty": ("beauty", "makeup", "skincare", "glow", "lipstick"),
    "fashion": ("style", "ootd", "fashion", "outfit", "closet"),
    "food": ("foodie", "eats", "kitchen", "anngon", "chef"),
    "travel": ("travel", "dulich", "wander", "trip", "phuot"),
    "gaming": ("gaming", "gamer", "play", "lienquan", "stream"),
    "tech": ("tech", "review", "unbox", "gadget", "congnghe"),
    "fitness": ("fit", "gym", "workout", "yoga", "run"),
    "comedy": ("funny", "haihuoc", "lol", "comedy", "meme"),
    "music": ("music", "cover", "sing", "beats", "guitar"),
    "education": ("learn", "english", "hoctap", "study", "tips"),
    "parenting": ("mom", "mebe", "family", "baby", "daddy"),
    "finance": ("money", "invest", "taichinh", "finance", "stock"),
}

KEYWORDS: Final = {
    "beauty": (
        ("son môi", "skincare", "kem chống nắng", "trang điểm"),
        ("lipstick", "skincare routine", "sunscreen", "makeup tutorial"),
    ),
    "fashion": (("phối đồ", "outfit đi học", "thời trang"), ("ootd", "outfit ideas", "haul")),
    "food": (
        ("ăn vặt", "review đồ ăn", "món ngon sài gòn"),
        ("street food", "recipe", "food review"),
    ),
    "travel": (
        ("du lịch đà lạt", "phú quốc", "check in"),
        ("travel vlog", "hidden gems", "hotel review"),
    ),
    "gaming": (
        ("liên quân", "free fire", "game mobile"),
        ("gameplay", "speedrun", "mobile legends"),
    ),
    "tech": (
        ("đánh giá điện thoại", "mở hộp", "tai nghe"),
        ("unboxing", "phone review", "tech tips"),
    ),
    "fitness": (("giảm cân", "tập gym", "eat clean"), ("workout", "weight loss", "home gym")),
    "comedy": (("hài hước", "troll", "tình huống"), ("funny", "prank", "skit")),
    "music": (("cover", "nhạc trẻ", "hát live"), ("cover song", "live music", "guitar")),
    "education": (("học tiếng anh", "mẹo học", "ielts"), ("study tips", "learn english", "ielts")),
    "parenting": (
        ("mẹ bỉm sữa", "ăn dặm", "đồ cho bé"),
        ("mom life", "baby food", "parenting tips"),
    ),
    "finance": (("đầu tư", "tiết kiệm", "chứng khoán"), ("investing", "budgeting", "stocks")),
}

CAPTIONS: Final = {
    "vi": (
        "Review {kw} siêu chi tiết 😍",
        "Thử {kw} lần đầu và cái kết...",
        "{kw} mà giá rẻ bất ngờ",
        "Mọi người thấy {kw} này sao?",
        "Chia sẻ {kw} cho ai cần nha",
        "Một ngày của mình với {kw}",
        "Top 3 {kw} đáng thử nhất 2025",
        "Đừng bỏ lỡ {kw} này!",
    ),
    "en": (
        "Trying {kw} so you don't have to",
        "My honest {kw} review",
        "{kw} under $20?!",
        "POV: you finally found the perfect {kw}",
        "3 {kw} tips nobody tells you",
        "{kw} day in my life",
        "Is this the best {kw} of 2025?",
        "Rating {kw} from 1 to 10",
    ),
}
HASHTAGS: Final = (
    "#fyp",
    "#xuhuong",
    "#viral",
    "#trending",
    "#reviewthatthaa",
    "#foryou",
    "#tiktokvn",
)

COMMENTS: Final = {
    "vi": (
        "Xinh quá chị ơi 😍",
        "Dễ thương ghê",
        "Cho em xin link sản phẩm với ạ",
        "Giá bao nhiêu vậy shop?",
        "Hay quá, follow rồi nha",
        "Đỉnh thật sự 🔥",
        "Chị review thêm đi ạ",
        "Nhìn ngon quá trời",
        "Mua rồi xài ok lắm mọi người",
        "Ủa cái này mua ở đâu vậy",
        "Haha cười xỉu 🤣",
        "Video chất lượng quá",
        "Có ship ra Hà Nội không ạ?",
        "Tuyệt vời luôn",
        "Mê quá đi",
        "Em cũng muốn thử",
        "Hóng phần 2",
        "Sao giống em vậy trời",
        "Chân thật ghê, thích kênh này",
        "Lần đầu thấy luôn á",
    ),
    "en": (
        "This is so good 😍",
        "Where did you get this?",
        "Link please!",
        "Love this ❤️",
        "Tried it and it works",
        "Need part 2",
        "You never miss",
        "Okay this is actually helpful",
        "How much was it?",
        "Obsessed 😭",
        "lol this is so me",
        "Saving this for later",
        "Underrated creator fr",
        "The editing is insane",
        "Can you do a full review?",
        "Just ordered one!",
        "Not me watching this at 3am",
        "So true haha",
        "This made my day",
        "Wait how did you do that",
    ),
}

# Bought-follower packages often come with bot comments: generic, short, repeated.
BOT_COMMENTS: Final = (
    "Nice video",
    "Great content",
    "Amazing",
    "Follow me back",
    "Check my profile",
    "Wow",
    "Hay quá",
    "Tuyệt vời",
    "Super",
    "Good job",
    "Love it",
    "So cool",
)
BOT_EMOJI: Final = ("👍", "🔥", "❤️", "😍", "👏", "💯", "✨")

# Engagement pods: members comment fast with warm, interchangeable lines.
POD_COMMENTS: Final = (
    "Amazing as always 💕",
    "Love this sis!",
    "Đỉnh quá bạn ơi",
    "Yesss queen 🔥",
    "Slay 😍",
    "Content quá chất",
    "Always inspiring ✨",
    "So proud of you",
    "Iconic",
    "Tuyệt vời bạn ơi 💯",
)

PRODUCTS: Final = {
    "beauty": (
        (
            "Son kem lì {b} Velvet Tint",
            "Kem chống nắng {b} SPF50+",
            "Serum Vitamin C {b} 30ml",
            "Phấn nước {b} Cushion",
        ),
        (
            "Velvet Lip Tint by {b}",
            "{b} Sunscreen SPF50",
            "{b} Vitamin C Serum",
            "{b} Cushion Foundation",
        ),
        ("Korea Glow", "Cocoon", "Lemonade", "Bioderma", "Hada"),
        (79_000, 459_000),
        (6.0, 35.0),
    ),
    "fashion": (
        ("Áo thun oversize {b}", "Quần jean ống rộng {b}", "Váy hoa nhí {b}"),
        ("{b} Oversized Tee", "{b} Wide Leg Jeans", "{b} Floral Dress"),
        ("Routine", "Yame", "Coolmate", "Uniqlo"),
        (99_000, 599_000),
        (9.0, 60.0),
    ),
    "food": (
        ("Bánh tráng trộn {b}", "Khô gà lá chanh {b}", "Trà sữa đóng chai {b}"),
        ("{b} Chili Crisp", "{b} Instant Ramen Pack", "{b} Matcha Powder"),
        ("Dì Ba", "Ba Anh Em", "Tiệm Nhà Mâm"),
        (25_000, 159_000),
        (3.0, 18.0),
    ),
    "travel": (
        ("Vali kéo {b} 20 inch", "Gối kê cổ {b}"),
        ("{b} Carry-on Suitcase", "{b} Travel Pillow"),
        ("Lusetti", "Samsonite", "Trip"),
        (150_000, 1_900_000),
        (15.0, 150.0),
    ),
    "gaming": (
        ("Tai nghe gaming {b}", "Bao tay chơi game {b}"),
        ("{b} Gaming Headset", "{b} Finger Sleeves"),
        ("Razer", "Logitech", "Fuhlen"),
        (39_000, 1_290_000),
        (5.0, 90.0),
    ),
    "tech": (
        ("Tai nghe bluetooth {b}", "Sạc dự phòng {b} 10000mAh", "Ốp lưng {b}"),
        ("{b} Wireless Earbuds", "{b} Power Bank 10000mAh", "{b} Phone Case"),
        ("Xiaomi", "Anker", "Baseus", "Soundpeats"),
        (59_000, 990_000),
        (8.0, 80.0),
    ),
    "fitness": (
        ("Thảm yoga {b}", "Dây kháng lực {b}", "Bình lắc whey {b}"),
        ("{b} Yoga Mat", "{b} Resistance Bands", "{b} Shaker Bottle"),
        ("Adidas", "Decathlon", "Lululemon"),
        (49_000, 690_000),
        (7.0, 70.0),
    ),
    "comedy": (
        ("Áo thun in chữ {b}",),
        ("{b} Meme Tee",),
        ("Local Brand",),
        (120_000, 250_000),
        (12.0, 28.0),
    ),
    "music": (
        ("Đàn ukulele {b}", "Micro thu âm {b}"),
        ("{b} Ukulele", "{b} USB Microphone"),
        ("Yamaha", "Fifine"),
        (250_000, 1_500_000),
        (25.0, 120.0),
    ),
    "education": (
        ("Sách luyện IELTS {b}", "Bút highlight {b}"),
        ("{b} IELTS Workbook", "{b} Highlighter Set"),
        ("Zenbooks", "Stabilo"),
        (35_000, 320_000),
        (4.0, 30.0),
    ),
    "parenting": (
        ("Bình sữa {b}", "Tã quần {b} size L"),
        ("{b} Baby Bottle", "{b} Diapers Size 4"),
        ("Moony", "Pigeon", "Bobby"),
        (89_000, 459_000),
        (8.0, 45.0),
    ),
    "finance": (
        ("Sổ tay quản lý chi tiêu {b}",),
        ("{b} Budget Planner",),
        ("Moleskine", "Klong"),
        (59_000, 220_000),
        (8.0, 25.0),
    ),
}

BIOS: Final = {
    "vi": (
        "{niche} | Hợp tác: {u}@gmail.com",
        "Chia sẻ {niche} mỗi ngày 💕",
        "📍Sài Gòn · {niche}",
        "📍Hà Nội | Booking inbox",
    ),
    "en": (
        "{niche} creator · collabs: {u}@gmail.com",
        "Daily {niche} content ✨",
        "Sharing my {niche} journey",
        "{niche} | links below 👇",
    ),
}
