package seed

import "strings"

// Card texts are composed from whole sentences so that every combination
// reads as Korean: an optional opener (the hour, the sleeplessness), one to
// three lines of a single mood, and an optional closer addressed to the other
// night owls. Keeping one mood per card is what makes a card read like one
// person's thought rather than a collage.

var textOpeners = []string{
	"새벽 두 시.", "새벽 세 시가 넘었다.", "또 새벽이다.", "잠이 안 오는 밤.",
	"오늘도 잠은 다 잤다.", "불 끄고 누운 지 한 시간째.", "다들 자나요?",
	"이 시간까지 안 자는 사람 있어요?", "오늘 하루 진짜 길었다.", "퇴근하고 이제야 누웠다.",
	"비 오는 새벽.", "창밖이 너무 조용하다.", "자려고 누웠는데 눈만 말똥말똥.", "벌써 한 시.",
}

var textMoods = [][]string{
	{ // 그리움, 짝사랑
		"괜히 네 생각이 난다.", "보고 싶다는 말은 오늘도 삼켰다.", "너도 가끔은 내 생각 할까.",
		"연락하면 안 되는 거 아는데 자꾸 폰만 본다.", "같이 걷던 길을 혼자 걸었다.",
		"아직도 네 번호를 못 지웠다.", "그때 잡았어야 했나 싶다.", "좋아한다고 말할 용기가 없다.",
		"카톡 프로필만 몇 번째 보는지 모르겠다.", "짝사랑은 왜 이렇게 티가 날까.",
		"답장 하나에 하루 기분이 왔다 갔다 한다.", "네가 웃으면 나도 모르게 따라 웃게 된다.",
	},
	{ // 이별
		"헤어진 지 백 일째.", "이제 괜찮은 줄 알았는데 아니었다.", "우리 정말 끝난 거 맞지?",
		"추억은 왜 이렇게 선명한지.", "잘 지내라는 말이 제일 어려웠다.", "이별 노래가 다 내 얘기 같다.",
		"사진 정리하다가 결국 울었다.", "헤어지자는 말을 먼저 한 건 나인데 왜 내가 더 아플까.",
		"시간이 약이라던데 아직 약효가 없다.",
	},
	{ // 외로움, 불면
		"사람들 사이에 있어도 외롭다.", "아무한테도 연락이 안 온다.", "누군가 내 얘기를 들어줬으면 좋겠다.",
		"괜찮은 척하는 것도 지친다.", "눈을 감아도 생각이 멈추지 않는다.",
		"요즘 내가 뭘 하고 사는지 모르겠다.", "혼자 있는 게 편한데 가끔은 무섭다.",
		"말할 사람이 없어서 여기에 적는다.", "오늘 하루 한마디도 안 한 것 같다.",
	},
	{ // 일, 공부
		"내일 출근하기 싫다.", "과제는 아직 반도 못 했다.", "시험이 코앞인데 공부가 손에 안 잡힌다.",
		"야근하고 오니 벌써 자정이다.", "월요일이 또 온다니 믿을 수 없다.", "취업 준비가 끝이 안 보인다.",
		"상사한테 한 소리 들은 게 계속 맴돈다.", "도서관 문 닫을 때까지 버텼다.",
		"자소서 첫 줄만 한 시간째 쓰고 있다.", "알바 끝나고 오니까 다리가 후들거린다.",
	},
	{ // 위로, 다짐
		"그래도 오늘 잘 버텼다.", "내일은 조금 더 나아지겠지.", "힘들면 쉬어 가도 괜찮대요.",
		"작은 일에 너무 마음 쓰지 말자.", "나한테 조금 더 다정해지기로 했다.", "다 지나갈 거라고 믿는다.",
		"오늘의 나, 수고했어.", "남들 속도에 맞추지 않아도 된다고 스스로에게 말해 본다.",
		"잘하고 있다고 누가 한 번만 말해 줬으면.",
	},
	{ // 야식
		"야식으로 라면 끓였다.", "치킨 시킬까 말까 삼십 분째 고민 중.", "편의점 가서 맥주 한 캔 사 왔다.",
		"다이어트는 내일부터 하기로 했다.", "배고파서 잠이 안 온다.", "새벽에 먹는 떡볶이는 반칙이다.",
		"냉장고 문을 벌써 세 번째 열었다.",
	},
	{ // 날씨, 계절
		"밖에 비가 온다.", "첫눈이 온대요.", "바람이 벌써 차다.", "오늘 하늘이 유난히 예뻤다.",
		"봄인데 마음은 아직 겨울이다.", "창문 열어 두니 풀벌레 소리가 들린다.",
		"빗소리 들으면서 누워 있으니 좋다.", "벚꽃은 피는데 같이 볼 사람이 없다.",
	},
	{ // 친구, 가족
		"엄마 목소리 듣고 싶은 밤.", "오랜만에 친구들 만나서 실컷 웃었다.", "집 떠나온 지 벌써 일 년.",
		"친구한테 서운한데 말을 못 하겠다.", "아빠가 보낸 문자에 괜히 울컥했다.", "동생이랑 또 싸웠다.",
		"다들 어른이 되어 가는 게 가끔 쓸쓸하다.",
	},
}

var textClosers = []string{
	"다들 잘 자요.", "그냥 그렇다고요.", "내일은 괜찮겠지.", "ㅠㅠ", "…", "누가 얘기 좀 들어줘요.",
	"이만 자야겠다.", "좋은 꿈 꾸세요.", "공감하는 사람 있나요?", "휴.", "ㅎㅎ", "굿밤.",
}

// cardText composes one card text from r.
func cardText(r *rng) string {
	mood := textMoods[r.intn(int64(len(textMoods)))]
	parts := make([]string, 0, 5)
	if r.intn(100) < 55 {
		parts = append(parts, pick(r, textOpeners))
	}
	lines := int64(1)
	switch x := r.intn(100); {
	case x >= 85:
		lines = 3
	case x >= 45:
		lines = 2
	}
	// Distinct lines of the mood: draw an index, then walk forward past
	// lines already used (the moods have far more lines than three).
	var used [3]int64
	for i := range lines {
		k := r.intn(int64(len(mood)))
		for again := true; again; {
			again = false
			for _, u := range used[:i] {
				if u == k {
					k = (k + 1) % int64(len(mood))
					again = true
				}
			}
		}
		used[i] = k
		parts = append(parts, mood[k])
	}
	if r.intn(100) < 40 {
		parts = append(parts, pick(r, textClosers))
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			if r.intn(100) < 20 {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteString(p)
	}
	return b.String()
}
