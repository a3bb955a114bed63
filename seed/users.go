package seed

import (
	"strconv"
	"time"
)

// User is a member. Mossi is anonymous: a member is known by a generated
// nickname, never a real name.
type User struct {
	ID        int64
	Nickname  string // unique, e.g. "새벽의고양이42"
	CreatedAt time.Time
}

// nickAdjectives and nickNouns make the nickname's words. Every
// adjective+noun concatenation is distinct (tested), which together with the
// numbering scheme in nickname makes every nickname unique.
var nickAdjectives = []string{
	"새벽의", "졸린", "수줍은", "외로운", "배고픈", "조용한", "따뜻한", "푸른",
	"말없는", "심심한", "우울한", "행복한", "느긋한", "엉뚱한", "용감한", "소심한",
	"반짝이는", "잠못드는", "비오는날의", "달빛아래", "겨울의", "봄날의", "여름밤의", "가을의",
	"새콤한", "달콤한", "쓸쓸한", "씩씩한", "부끄러운", "명랑한", "차가운", "포근한",
	"수상한", "낯선", "익명의", "지나가던", "떠도는", "비밀스러운", "상냥한", "고독한",
	"노란", "하얀", "까만", "작은", "커다란", "게으른", "부지런한", "몽롱한",
	"설레는", "서툰", "괜찮은", "흔들리는", "새침한", "무심한", "다정한", "희미한",
}

var nickNouns = []string{
	"고양이", "여우", "토끼", "고래", "펭귄", "부엉이", "다람쥐", "곰",
	"강아지", "햄스터", "수달", "너구리", "참새", "나비", "별", "달",
	"구름", "바람", "파도", "우산", "연필", "커피", "라면", "만두",
	"호떡", "붕어빵", "감자", "고구마", "솜사탕", "선인장", "민들레", "해바라기",
	"은하수", "가로등", "자전거", "기린", "코끼리", "돌고래", "사슴", "오리",
	"물고기", "거북이", "올빼미", "판다", "양", "두더지", "개구리", "까치",
	"모래", "안개", "노을", "이불", "베개", "편지", "일기장", "라디오",
}

// nickname builds user id's nickname. Write k = id-1 = q·C + r with C the
// number of adjective+noun combinations; r is shuffled by a seed-keyed affine
// permutation to pick the combination, and the number is q·100 + (0..99).
// Two users with the same combination differ in q, hence in the number's
// hundreds, so nicknames are unique without any lookup table.
func (d *Dataset) nickname(id int64, r *rng) string {
	combos := uint64(len(nickAdjectives) * len(nickNouns))
	k := uint64(id - 1)
	q, c := k/combos, d.nickPerm.at(k%combos)
	adj, noun := nickAdjectives[c/uint64(len(nickNouns))], nickNouns[c%uint64(len(nickNouns))]
	num := q*100 + uint64(r.intn(100))
	return adj + noun + strconv.FormatUint(num, 10)
}

// userP is the activity fraction at which user id signed up. User 1 signs
// up at the very start so every card has an author who existed before it.
func (d *Dataset) userP(id int64) float64 {
	if id == 1 {
		return 0
	}
	r := newRNG(d.keys[streamUser], uint64(id))
	return (float64(id-1) + r.float()) / float64(d.counts.Users)
}

func (d *Dataset) userCreated(id int64) time.Time { return timeAt(d.userP(id)) }

// User returns user id (1..Counts().Users). Ids outside the range return the
// zero User.
func (d *Dataset) User(id int64) User {
	if id < 1 || id > d.counts.Users {
		return User{}
	}
	r := newRNG(d.keys[streamNick], uint64(id))
	return User{ID: id, Nickname: d.nickname(id, &r), CreatedAt: d.userCreated(id)}
}
