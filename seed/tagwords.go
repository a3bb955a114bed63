package seed

// The hashtag corpus's word lists. Their shapes carry the distinctness
// argument in tags.go, and tests check each shape:
//   - tagHead: the curated most popular tags, most popular first; distinct,
//     at most 190 characters, no whitespace, not ending in an ASCII digit.
//   - tagNouns: Hangul nouns of exactly two syllables, distinct.
//   - tagSuffixes: Hangul words, distinct, none of them a tagNoun, and none a
//     tagNoun followed by a tagSuffix (so noun+suffix, noun+noun and
//     noun+noun+suffix never coincide).
//   - tagLatin1, tagLatin2: lowercase ASCII words of two letters or more,
//     every concatenation of one of each splitting one way only.
//   - tagEmoji: distinct emoji sequences with no Hangul, letters or digits.

var tagHead = []string{
	"일상", "새벽", "감성", "공감", "사랑", "새벽감성", "위로", "이별", "짝사랑", "외로움",
	"좋은글", "글귀", "힐링", "데일리", "daily", "love", "맛집", "카페", "여행", "셀카",
	"먹스타그램", "일상스타그램", "🌙", "소통", "연애", "고백", "불면증", "우울", "행복", "눈물",
	"추억", "그리움", "혼술", "야식", "치킨", "맥주", "커피", "☕️", "음악", "노래",
	"플레이리스트", "영화", "책", "직장인", "퇴근", "월요병", "불금", "주말", "고삼", "수능",
	"시험기간", "취준생", "자취생", "다이어트", "운동", "고양이", "강아지", "냥스타그램", "멍스타그램", "하늘",
	"노을", "밤하늘", "별", "달", "비", "첫눈", "벚꽃", "봄", "여름", "가을",
	"겨울", "바다", "서울", "부산", "제주도", "홍대", "강남", "한강", "해운대", "가족",
	"엄마", "친구", "생일", "크리스마스", "새해", "모씨", "익명", "고민", "고민상담", "힘내",
	"괜찮아", "수고했어", "감사", "꿈", "인생", "명언", "일기", "오늘의일기", "혼밥", "야근",
	"새벽공부", "공부스타그램", "럽스타그램", "셀스타그램", "선팔", "맞팔", "좋아요", "instagood", "Love", "LOVE",
	"selfie", "ootd", "OOTD", "Daily", "night", "insomnia", "mood", "Seoul", "seoul", "korea",
	"Korea", "coffee", "cafe", "food", "foodie", "travel", "music", "sky", "sunset", "happy",
	"sad", "✨", "❤️", "💕", "💔", "😭", "😂", "🌸", "🍺", "🐱",
	"🐶", "☕️감성", "🌙새벽", "새벽🌙", "보고싶다", "사랑해", "미안해", "고마워", "잠이안와", "새벽세시",
	"밤샘", "술한잔", "비오는날", "월요일싫어", "오늘도수고했어", "헤어짐", "썸", "설렘", "자존감", "번아웃",
	"취업", "알바", "대학생", "새내기", "군대", "곰신", "장거리연애", "커플", "솔로", "연말",
	"퇴사", "출근길", "퇴근길", "지하철", "버스", "편의점", "라면", "떡볶이", "치맥", "소주",
	"와인", "디저트", "빙수", "빵스타그램", "카페투어", "맛스타그램", "여행스타그램", "풍경", "야경", "사진",
	"필름카메라", "dailylife", "instadaily", "photo", "likeforlike", "followme", "f4f", "l4l", "emotion", "lonely",
	"Moon", "moon", "Night", "Happy", "kpop", "KPOP", "jeju", "busan", "🌃", "💤",
	"🌧", "❄️", "🍗", "🎧", "📷", "🌊", "🍀", "🙏", "😢", "💪",
	"오늘도잠이안와서이렇게새벽에글을씁니다", "그냥", "뻘글", "아무말", "혼잣말", "TMI", "넋두리", "푸념", "주저리", "끄적끄적",
}

var tagNouns = []string{
	"새벽", "감성", "일상", "여행", "카페", "커피", "맛집", "사랑", "이별", "연애",
	"퇴근", "출근", "야식", "친구", "가족", "고백", "위로", "힐링", "셀카", "사진",
	"음악", "노래", "영화", "독서", "공부", "시험", "과제", "운동", "헬스", "요가",
	"산책", "등산", "캠핑", "바다", "하늘", "노을", "구름", "벚꽃", "단풍", "겨울",
	"여름", "가을", "봄날", "주말", "휴일", "불금", "혼술", "혼밥", "자취", "야근",
	"알바", "취준", "수능", "대학", "학교", "회사", "출장", "홍대", "강남", "잠실",
	"신촌", "명동", "건대", "성수", "연남", "합정", "망원", "부산", "제주", "대구",
	"광주", "대전", "인천", "수원", "전주", "경주", "강릉", "속초", "여수", "통영",
	"한강", "남산", "치킨", "피자", "라면", "맥주", "소주", "와인", "케익", "빙수",
	"만두", "국밥", "초밥", "곱창", "족발", "냉면", "김밥", "우동", "짬뽕", "짜장",
	"도넛", "쿠키", "빵집", "집밥", "꽃집", "꽃길", "우정", "추억", "기억", "눈물",
	"웃음", "행복", "감사", "다짐", "고민", "걱정", "불면", "우울", "설렘", "희망",
	"청춘", "인생", "하루", "오늘", "내일", "어제", "생일", "기념", "선물", "편지",
	"일기", "명언", "시집", "소설", "웹툰", "게임", "축구", "야구", "농구", "커플",
	"솔로", "남친", "여친", "엄마", "아빠", "언니", "오빠", "누나", "동생", "댕댕",
	"냥이", "출사", "풍경", "야경", "거리", "골목", "시장", "공원", "전시", "공연",
	"덕질", "팬심", "뷰티", "화장", "네일", "패션", "코디", "신발", "가방", "향수",
	"안경", "빗길", "눈길", "첫눈", "장마", "폭염", "한파", "새해", "연말", "방학",
}

var tagSuffixes = []string{
	"스타그램", "그램", "추천", "기록", "중독", "투어", "데이트", "타임", "러버", "생각",
	"모음", "공유", "후기", "스냅", "자랑", "일지", "한잔", "노트", "이야기", "소통",
	"만세", "최고", "천국", "실패", "성공", "덕후", "홀릭", "메이트", "로그", "앓이",
	"병", "각", "중", "시간", "하자", "했다", "스토리", "클래스", "탐방", "정복",
	"계획", "인증", "성지", "순례", "요정", "장인", "마스터", "부자", "지옥", "나들이",
	"먹방", "뽀개기", "여행기", "일기장", "사진관",
}

var tagLatin1 = []string{
	"daily", "good", "happy", "night", "late", "coffee", "cafe", "food", "travel", "love",
	"sweet", "cute", "lazy", "sunday", "monday", "friday", "weekend", "city", "seoul", "busan",
	"jeju", "korea", "moon", "star", "sky", "rain", "snow", "summer", "winter", "spring",
	"autumn", "pink", "blue", "black", "white", "gold", "dream", "sleep", "study", "work",
	"home", "photo", "selfie", "movie", "music", "song", "dance", "dog", "cat", "puppy",
	"kitty", "beach", "ocean", "sunset", "insta", "my", "best", "real", "mood", "feel",
	"soul", "heart", "young", "wild", "free", "slow", "fresh", "brunch", "dessert", "beer",
}

var tagLatin2 = []string{
	"life", "gram", "daily", "vibes", "time", "love", "diary", "log", "pic", "shot",
	"lover", "addict", "trip", "tour", "day", "night", "style", "story", "note", "club",
	"world", "holic", "mate", "zone", "feed", "cam", "walk", "talk", "break", "mode",
}

var tagEmoji = []string{
	"🌙", "✨", "☕️", "❤️", "💕", "💔", "😭", "😊", "😂", "😍",
	"😴", "💤", "🌸", "🌧", "☔️", "❄️", "🍺", "🍻", "🍗", "🍜",
	"🍰", "🍦", "🐱", "🐶", "🐰", "🎧", "🎵", "📷", "📚", "✏️",
	"🌃", "🌌", "🌊", "🌈", "🍀", "🔥", "💪", "🙏", "👍", "🎂",
	"🎄", "☀️", "⭐️", "🌟", "🌷", "🍂", "🍁", "😢",
}
