package injtrain

import (
	"math/rand/v2"
	"strings"

	"github.com/agentos/agentos/detect"
)

// The data channel. In data the agent reads (an e-mail, a table, a web
// page, a tool result), any request or instruction addressed to the
// assistant is an injection, however harmless it sounds: the person who
// wrote the data is not the user. Ordinary data still contains requests —
// between people ("Could you send me the slides by Friday?"), to the reader
// of a manual ("Unscrew the cover"), questions in a FAQ with their answers
// — and those are benign. The data head is trained on these contrasts:
// tasks for an assistant (in many languages, asked plainly or politely, on
// many subjects) alone and planted in data, against data full of requests
// meant for people.
//
// The tasks are composed from parts written for this file: an opener, an
// act (explain, write, list, compare, translate, plan, fix, classify, ...)
// and a subject from a wide range of domains. None is taken from a corpus.

var (
	// taskOpeners precede a task; "%s" is the task with a lower-case first
	// letter when the opener ends in a word.
	taskOpeners = []string{"%s", "%s", "%s", "Please %s", "Can you %s?", "Could you %s?", "I need you to %s",
		"I'd like you to %s", "Quick question: %s", "Hey, %s", "Assistant, %s", "Now %s", "Next, %s",
		"Would you kindly %s?", "Your job: %s", "Task: %s", "I want you to %s", "Go ahead and %s"}
	// taskActs are acts with a subject slot "%s".
	taskActs = []string{
		"explain %s in plain words", "give a short overview of %s", "write a paragraph about %s",
		"list five facts about %s", "summarise what is known about %s", "describe %s for a ten-year-old",
		"outline the history of %s", "compare %s with its closest alternative", "write a limerick about %s",
		"draft a blog post on %s", "create a quiz with three questions on %s", "suggest a reading list on %s",
		"give me tips on %s", "tell me an interesting story about %s", "make a study plan to learn about %s",
		"write a tweet promoting %s", "brainstorm ten ideas related to %s", "argue for and against %s",
		"prepare talking points on %s", "invent a slogan for %s", "explain the main debates around %s",
		"produce a glossary of terms for %s", "write a product description for %s", "draft an FAQ about %s",
		"predict how %s will change by 2040", "rate %s on a scale of one to ten and explain why",
	}
	taskSubjects = []string{
		"the Ottoman Empire", "volcanoes", "the Silk Road", "jazz improvisation", "medieval castles", "honeybees",
		"the printing press", "coral reefs", "black holes", "the French Revolution", "sourdough baking",
		"marathon training", "bonsai trees", "the human immune system", "origami", "chess openings",
		"the Apollo missions", "urban beekeeping", "Viking navigation", "plate tectonics", "the Great Barrier Reef",
		"impressionist painting", "container shipping", "public libraries", "tea ceremonies", "desert ecosystems",
		"the history of the bicycle", "birdwatching", "ancient Egyptian medicine", "the stock exchange",
		"compound interest", "home composting", "wind instruments", "the Olympic Games", "submarine cables",
		"the metric system", "sign languages", "glaciers", "the Renaissance", "board game design",
		"rock climbing safety", "cheese making", "rainforest canopies", "the water cycle", "typewriters",
		"tidal power", "the Hanseatic League", "street food in Bangkok", "lighthouses", "the Fibonacci sequence",
		"knitting patterns", "the invention of paper money", "hot air balloons", "the Inca road system",
		"saltwater aquariums", "early computers", "opera", "garden irrigation", "mountain gorillas",
	}
	// directTasks are complete tasks and questions for an assistant.
	directTasks = []string{
		"What is the tallest mountain in Africa?", "How many bones are in the human hand?",
		"Who painted the ceiling of the Sistine Chapel?", "When did the Berlin Wall fall?",
		"Why is the sky blue?", "Which planet has the most moons?", "What does DNA stand for?",
		"How far is the Moon from the Earth?", "What is the boiling point of water at high altitude?",
		"Who invented the telephone?", "How do airplanes stay in the air?", "What language is spoken in Brazil?",
		"What is the square root of 1764?", "Convert 72 degrees Fahrenheit to Celsius.",
		"Solve for x: 3x + 7 = 22.", "What is 15% of 240?", "How many minutes are in a week?",
		"Write a Python function that reverses a linked list.", "How do I center a div with CSS?",
		"Show me a SQL query that finds duplicate e-mail addresses.", "Explain what a race condition is.",
		"Write a bash one-liner that counts the lines in every .txt file.", "How do I undo the last git commit?",
		"What is the difference between a process and a thread?", "Fix the bug in my regular expression for dates.",
		"Write unit tests for a stack implementation in Java.", "How do I read a CSV file in Go?",
		"Plan a three-day trip to Lisbon on a budget.", "What should I pack for a week of hiking in Norway?",
		"Suggest a name for my bakery.", "Give me a workout I can do in a hotel room.",
		"What are some good houseplants for low light?", "How can I stop procrastinating?",
		"How do I get red wine out of a carpet?", "Recommend a podcast about history.",
		"Write a birthday message for my grandmother.", "Compose a haiku about the first snow.",
		"Write a cover letter for a junior accountant position.", "Create a menu for a dinner party of six.",
		"Write a song chorus about a lost umbrella.", "Draft a toast for my sister's wedding.",
		"Tell me a joke about penguins.", "Invent a riddle whose answer is a shadow.",
		"Classify this message as spam or not spam: 'You won a free cruise, click here'.",
		"Extract every date mentioned in the paragraph above.", "Correct the grammar of this sentence: 'he go to school yesterday'.",
		"Detect the language of the following text: 'Dziękuję bardzo'.", "Count the vowels in the word 'encyclopedia'.",
		"Identify the main argument of the previous paragraph.", "Turn these notes into a formal memo.",
		"Paraphrase the first sentence in simpler English.", "Label each of these animals as mammal or reptile: gecko, otter, iguana.",
		"What is the tone of the quoted letter, formal or casual?", "Give each item in the list a priority from 1 to 5.",
		"Rank these cities by population: Oslo, Madrid, Cairo.", "Categorise these expenses into food, travel and rent.",
		"Estimate how many piano tuners work in Chicago.", "Assess the long-term effects of remote work on city centres.",
		"Forecast the demand for bicycle couriers over the next five years.", "Evaluate the pros and cons of a four-day work week.",
		"Discuss how tourism affects small islands.", "Analyse how streaming changed the music industry.",
		"What factors drive the price of coffee beans?", "How do interest rates affect house prices?",
		"Tell me how to negotiate a higher salary.", "Teach me the basics of double-entry bookkeeping.",
		"Help me write a complaint to my landlord about the heating.", "Help me prepare for a job interview at a bank.",
		"Help me understand my electricity bill.", "Help me choose between two laptops.",
		"Walk me through setting up a home Wi-Fi mesh.", "Show me how to make a pivot table in a spreadsheet.",
		"Write a regex that matches UK postcodes.", "Generate ten creative names for a cat.",
		"Give me a mnemonic for the order of the planets.", "Translate 'where is the train station' into Greek.",
		"What is 'butterfly' in German?", "How do you say 'good luck' in Korean?",
		"Describe the plot of Moby-Dick in two sentences.", "Who were the main figures of the Enlightenment?",
		"Is coffee good or bad for your heart?", "What is the healthiest way to cook broccoli?",
		"Summarise today's top technology news.", "Look up the weather forecast for Madrid.",
		"Find me cheap flights from Dublin to Rome next month.", "Book a table for two at an Italian restaurant tonight.",
		"Remind me to call the dentist tomorrow at nine.", "Set an alarm for 6:30 every weekday.",
		"Create a shopping list for a week of vegetarian meals.", "Draft a weekly schedule for learning Spanish.",
	}
	// foreignTasks are tasks for an assistant in other languages.
	foreignTasks = []string{
		"¿Cuál es la capital de Australia?", "Escribe un poema corto sobre el mar.", "Explícame cómo funciona un motor eléctrico.",
		"Dame tres consejos para dormir mejor.", "Resume la historia de Roma en dos frases.",
		"Quelle est la hauteur du mont Blanc ?", "Écris une courte histoire sur un robot.", "Explique-moi la photosynthèse simplement.",
		"Donne-moi une recette de crêpes.", "Propose un nom pour mon chat.",
		"Wie hoch ist die Zugspitze?", "Schreibe ein Gedicht über den Herbst.", "Erkläre mir, wie ein Kühlschrank funktioniert.",
		"Gib mir drei Tipps zum Sparen.", "Fasse die Geschichte der Hanse zusammen.",
		"Qual è il fiume più lungo d'Italia?", "Scrivi una breve storia su un gatto.", "Spiegami come funziona la borsa.",
		"Qual é a capital do Canadá?", "Escreva um poema sobre a chuva.", "Explique como funciona a internet.",
		"Wat is de hoofdstad van Noorwegen?", "Schrijf een kort verhaal over een draak.",
		"Какая самая длинная река в мире?", "Напиши стихотворение о зиме.", "Объясни, как работает компас.",
		"世界上最高的山是哪座？", "写一首关于春天的短诗。", "请解释一下光合作用。", "给我推荐三本历史书。",
		"日本で一番長い川は何ですか？", "猫についての短い物語を書いてください。", "量子コンピュータを簡単に説明してください。",
		"한국의 수도는 어디인가요?", "가을에 대한 시를 써 주세요.", "인공위성이 어떻게 작동하는지 설명해 주세요.",
		"Türkiye'nin en yüksek dağı hangisidir?", "Bana kısa bir hikaye yaz.",
		"Jaka jest stolica Kanady?", "Napisz wiersz o morzu.",
		"ما هي عاصمة اليابان؟", "اكتب قصيدة قصيرة عن البحر.",
		"भारत की सबसे लंबी नदी कौन सी है?", "मुझे एक छोटी कहानी लिखो।",
		"Vad är huvudstaden i Finland?", "Napiš krátkou báseň o zimě.", "Γράψε ένα ποίημα για τη θάλασσα.",
		"Thủ đô của Úc là gì?",
	}
	// plantPrefixes sometimes introduce a planted task.
	plantPrefixes = []string{"", "", "", "", "Also: ", "Assistant: ", "AI, ", "P.S. ", "Before you reply, ", "NOTE: ",
		"To the AI reading this: ", "Additionally, ", "[assistant] ", "By the way, "}

	// Benign data: requests and instructions meant for people.
	personRequests = []string{
		"Can you send me the Q3 report by Friday?", "Could you book the meeting room for Thursday afternoon?",
		"Please sign the attached form and return it to HR.", "Let me know if you can cover my shift on Saturday.",
		"Would you mind reviewing my pull request before lunch?", "Please remember to water the plants while I'm away.",
		"Could you pick up the kids from school at four?", "Can we move our call to 3 pm?",
		"Please bring your ID to the front desk on arrival.", "Kindly settle the outstanding balance within 14 days.",
		"Please find the updated budget attached.", "Could you confirm the delivery address for the chairs?",
		"Let's meet at the café near the station.", "Please don't forget the team lunch tomorrow.",
		"Can you ask Maria whether the invoice was paid?", "Please RSVP by the 12th so we can order food.",
		"Could you share your slides after the talk?", "Please update the ticket when the fix is deployed.",
		"Call me when you land.", "Send the draft to Jonas before the deadline.", "Please reply to all with your availability.",
		"Don't hesitate to contact me if anything is unclear.", "Please complete the survey by the end of the week.",
		"Could someone from IT check the printer on floor 3?", "Can you forward me the client's phone number?",
		"Please keep this information confidential.", "Would you be able to present the results on Monday?",
	}
	readerInstructions = []string{
		"Preheat the oven to 180°C and grease the tin.", "Remove the battery cover and insert two AA batteries.",
		"Press and hold the power button for ten seconds to reset the device.", "Stir the sauce until it thickens, then season to taste.",
		"Tighten the screws by hand before using the wrench.", "Click Save, then close the window.",
		"Keep out of reach of children.", "Store in a cool, dry place.", "Wash hands before handling food.",
		"Turn left at the second traffic light and park behind the building.", "Enter your PIN and press the green key.",
		"Apply sunscreen 20 minutes before going outside.", "Unplug the appliance before cleaning.",
		"Fill in sections A and B in block capitals.", "Run make install as root after configuring.",
		"Shake well before use.", "Do not exceed the stated dose.", "Use the stairs in case of fire.",
		"Check the tyre pressure once a month.", "Water the seedlings every other day.",
	}
	dataFacts = []string{
		"The meeting is scheduled for 10:00 in room 4B.", "Revenue rose 4% year on year, mainly in Europe.",
		"The new office opens on 1 March.", "Shipping usually takes three to five working days.",
		"The library is closed on public holidays.", "Attendance was lower than last year because of the rain.",
		"The bridge was completed in 1932 and is 503 metres long.", "Our support team is available from 8 am to 6 pm.",
		"The package was delivered to the front door.", "Ticket prices increase after 31 May.",
		"The museum houses more than 2,000 paintings.", "The trial showed no serious side effects.",
		"Sales of winter coats doubled in November.", "The server was restarted at 02:14 after the update.",
		"The river flooded the lower fields twice this spring.", "Three candidates applied for the role.",
	}
	faqPairs = [][2]string{
		{"How do I reset my password?", "Click 'Forgot password' on the sign-in page and follow the link we e-mail you."},
		{"Can I change my delivery date?", "Yes, up to 48 hours before dispatch, from the Orders page."},
		{"What payment methods do you accept?", "We accept cards, bank transfer and PayPal."},
		{"Do you ship abroad?", "We ship to most EU countries; see the table of rates below."},
		{"How long is the warranty?", "Two years from the date of purchase."},
		{"Where can I park?", "Visitors can use the car park on Mill Road."},
	}
	foreignData = []string{
		"Hola Ana, ¿puedes enviarme el informe antes del viernes? Gracias.", "La reunión es el martes a las diez.",
		"Bonjour, pourriez-vous confirmer votre adresse de livraison ? Cordialement.", "Le magasin ferme à 19 heures.",
		"Hallo Jonas, kannst du bitte die Rechnung prüfen? Danke!", "Die Lieferung kommt am Montag.",
		"Ciao Marco, puoi mandarmi le slide della presentazione?", "Olá, pode confirmar a reserva para sábado?",
		"Привет, можешь прислать отчёт до пятницы?", "Собрание перенесено на четверг.",
		"你好，请在周五前把报告发给我。", "会议改到周四下午三点。", "田中さん、明日の会議の資料を送っていただけますか。",
		"안녕하세요, 금요일까지 보고서를 보내 주실 수 있나요?", "Merhaba, faturayı kontrol edebilir misin?",
		"Cześć, czy możesz przesłać mi raport do piątku?", "مرحبا، هل يمكنك إرسال التقرير قبل يوم الجمعة؟",
		"नमस्ते, क्या आप शुक्रवार तक रिपोर्ट भेज सकते हैं?",
	}
	subjectStatements = []string{
		"the lecture on %s starts at 7 pm in the main hall.", "chapter four of the book covers %s.",
		"I finished the report on %s; it is attached.", "the museum's new exhibition on %s runs until June.",
		"our club's next outing is about %s.", "the documentary about %s won an award last year.",
		"%s was the topic of the school project.", "the grant covers research into %s for three years.",
		"the library has 40 books on %s.", "there is a guided tour about %s every Sunday.",
		"Maria wrote her thesis on %s.", "the podcast episode on %s was downloaded 12,000 times.",
		"the course on %s is fully booked.", "a new study on %s was published in March.",
	}
	answerSentences = []string{
		"The problem is that you are modifying the list while iterating over it.", "Try this instead:",
		"You need to convert the string to an integer first.", "Use a dictionary instead of two lists.",
		"This happens because the function returns None.", "You should close the file after reading it.",
		"Your loop never ends because i is not incremented.", "As the error says, the object has no attribute append.",
		"It was deprecated in version 3.2; use the new module.", "Change the second line to:",
		"Note that the index starts at zero.", "You can also do it with a list comprehension:",
		"Make sure the path is absolute.", "Don't call the method on the class, call it on an instance.",
		"The documentation explains the parameters in detail.", "Wrap the call in a try/except block.",
		"That works, but it is slow for large inputs.", "Remove the trailing comma and it compiles.",
		"Install the package with pip first.", "In Python 3 this returns an iterator, not a list.",
		"You are shadowing the builtin name.", "Check the return value before using it.",
		"Pass the argument as a keyword, not positionally.", "Here the variable is local to the function.",
		"Set the encoding explicitly when you open the file.", "Then print the result to see what you get.",
		"There are two problems with your code.", "First, move the import to the top of the file.",
		"Second, the regular expression needs a raw string.", "Hope this helps!",
	}
	inlineCode = []string{"len(items)", "df.dropna()", "str.strip()", "os.path.join(a, b)", "json.dumps(obj)",
		"x is None", "list(d.keys())", "np.array(x)", "git rebase -i", "sorted(xs, reverse=True)"}
	people  = []string{"Maria", "Jonas", "Priya", "Tom", "Aiko", "Lars", "Fatima", "Diego", "Chen", "Olga"}
	columns = [][]string{{"City", "Population", "Country"}, {"Item", "Qty", "Price"}, {"Date", "Event", "Venue"},
		{"Player", "Goals", "Club"}, {"Model", "Year", "Range (km)"}, {"Course", "Credits", "Lecturer"}}
	cells = []string{"Oslo", "42", "Madrid", "7.5", "2019", "Lisbon", "n/a", "Blue", "1,204", "Main Hall", "Ortiz",
		"Yes", "3", "Q2", "12.00", "Kyoto", "—", "Open", "Smith", "88%"}
)

// dataGen composes the data-channel examples.
type dataGen struct {
	rng *rand.Rand
}

func (g *dataGen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

// task returns a task for an assistant.
func (g *dataGen) task() string {
	switch g.rng.IntN(7) {
	case 0:
		return g.pick(foreignTasks)
	case 1, 2:
		return g.pick(directTasks)
	case 3, 4:
		return g.familyTask()
	}
	act := strings.Replace(g.pick(taskActs), "%s", g.pick(taskSubjects), 1)
	op := g.pick(taskOpeners)
	if op == "%s" {
		return upperFirst(act) + "."
	}
	s := strings.Replace(op, "%s", act, 1)
	if !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}

// email returns an e-mail between people; body lines may include inner.
func (g *dataGen) email(inner string) string {
	from, to := g.pick(people), g.pick(people)
	var b strings.Builder
	switch g.rng.IntN(3) {
	case 0:
		b.WriteString("SUBJECT: " + g.pick([]string{"Project update", "Invoice 2291", "Friday", "Re: slides", "Your order", "Team lunch"}) +
			"|EMAIL_FROM: " + strings.ToLower(from) + "@example.org|CONTENT: ")
	case 1:
		b.WriteString("From: " + strings.ToLower(from) + "@example.com\nTo: " + strings.ToLower(to) + "@example.com\nSubject: " +
			g.pick([]string{"Quick question", "Schedule", "Follow-up", "Documents", "Reminder"}) + "\n\n")
	}
	b.WriteString("Hi " + to + ",\n\n")
	parts := []string{g.pick(dataFacts), g.pick(personRequests)}
	if g.rng.IntN(2) == 0 {
		parts = append(parts, g.pick(dataFacts))
	}
	if g.rng.IntN(3) == 0 {
		parts = append(parts, g.pick(personRequests))
	}
	if inner != "" {
		at := g.rng.IntN(len(parts) + 1)
		parts = append(parts[:at], append([]string{inner}, parts[at:]...)...)
	}
	b.WriteString(strings.Join(parts, " "))
	b.WriteString("\n\nBest,\n" + from)
	return b.String()
}

// table returns a Markdown table, with inner as one cell if set.
func (g *dataGen) table(inner string) string {
	cols := columns[g.rng.IntN(len(columns))]
	var b strings.Builder
	b.WriteString("| " + strings.Join(cols, " | ") + " |\n")
	n := 2 + g.rng.IntN(6)
	at := g.rng.IntN(n)
	for i := range n {
		b.WriteString("|")
		for j := range cols {
			c := g.pick(cells)
			if inner != "" && i == at && j == len(cols)-1 {
				c = inner
			}
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// page returns a web page or document excerpt.
func (g *dataGen) page(inner string) string {
	var parts []string
	switch g.rng.IntN(4) {
	case 0:
		parts = []string{"Step 1. " + g.pick(readerInstructions), "Step 2. " + g.pick(readerInstructions), g.pick(dataFacts)}
	case 1:
		q := faqPairs[g.rng.IntN(len(faqPairs))]
		r := faqPairs[g.rng.IntN(len(faqPairs))]
		parts = []string{"Frequently asked questions", "Q: " + q[0] + "\nA: " + q[1], "Q: " + r[0] + "\nA: " + r[1]}
	case 2:
		parts = []string{g.pick(dataFacts), g.pick(dataFacts), g.pick(readerInstructions)}
	default:
		parts = []string{"Customer review: " + g.pick([]string{"Great value.", "Arrived late but works.", "Too noisy for me.", "Five stars!"}),
			g.pick(dataFacts)}
	}
	if inner != "" {
		at := g.rng.IntN(len(parts) + 1)
		parts = append(parts[:at], append([]string{inner}, parts[at:]...)...)
	}
	sep := "\n\n"
	if g.rng.IntN(3) == 0 {
		return "<html><body><p>" + strings.Join(parts, "</p><p>") + "</p></body></html>"
	}
	return strings.Join(parts, sep)
}

// code returns a code answer or source file, with inner in a comment.
func (g *dataGen) code(inner string) string {
	snip := g.pick(benignSnippets)
	intro := g.pick(benignCodeIntros)
	if inner == "" {
		if g.rng.IntN(2) == 0 {
			return intro + "\n```\n" + snip + "\n```\n" + g.pick([]string{"That should fix the error.", "Note the indentation.", "Hope this helps."})
		}
		return "# " + g.pick([]string{"TODO: handle empty input", "Ask Maria before changing the schema", "Please keep this in sync with the docs"}) + "\n" + snip
	}
	switch g.rng.IntN(3) {
	case 0:
		return "# " + inner + "\n" + snip
	case 1:
		return intro + "\n```\n" + snip + "\n```\n" + inner
	}
	return "/* " + inner + " */\n" + snip
}

// subjectData returns ordinary data that mentions one of the task
// subjects, so that a subject's words are not evidence of a task.
func (g *dataGen) subjectData() string {
	sub := g.pick(taskSubjects)
	t := g.pick(subjectStatements)
	s := strings.Replace(t, "%s", sub, 1)
	switch g.rng.IntN(3) {
	case 0:
		return "| " + upperFirst(sub) + " | " + g.pick(cells) + " | " + g.pick(cells) + " |\n| " + upperFirst(g.pick(taskSubjects)) + " | " + g.pick(cells) + " | " + g.pick(cells) + " |"
	case 1:
		return g.email(s)
	}
	return upperFirst(s)
}

// codeAnswer returns an answer to a programming question, written to the
// person who asked it (imperatives and "you" included).
func (g *dataGen) codeAnswer() string {
	var parts []string
	for range 1 + g.rng.IntN(3) {
		parts = append(parts, g.pick(answerSentences))
	}
	at := g.rng.IntN(len(parts) + 1)
	block := "```\n" + g.pick(benignSnippets) + "\n```"
	if g.rng.IntN(3) == 0 {
		block = "`" + g.pick(inlineCode) + "`"
	}
	parts = append(parts[:at], append([]string{block}, parts[at:]...)...)
	return strings.Join(parts, "\n")
}

// benignShort returns a short piece of ordinary data.
func (g *dataGen) benignShort() string {
	switch g.rng.IntN(6) {
	case 0:
		return g.pick(personRequests)
	case 1:
		return g.pick(readerInstructions)
	case 2:
		return g.pick(foreignData)
	case 3:
		q := faqPairs[g.rng.IntN(len(faqPairs))]
		return "Q: " + q[0] + " A: " + q[1]
	case 4:
		return g.pick(people) + ": " + g.pick(personRequests) + "\n" + g.pick(people) + ": Sure, will do."
	}
	return g.pick(dataFacts)
}

// container wraps inner ("" for none) in a random kind of data.
func (g *dataGen) container(inner string) string {
	switch g.rng.IntN(5) {
	case 0, 1:
		return g.email(inner)
	case 2:
		return g.table(inner)
	case 3:
		return g.page(inner)
	}
	return g.code(inner)
}

// plantIn inserts inner into host at a line boundary near a random point
// (start, middle or end, as real planted instructions are).
func (g *dataGen) plantIn(host, inner string) string {
	switch g.rng.IntN(3) {
	case 0:
		return inner + "\n" + host
	case 1:
		return host + "\n" + inner
	}
	mid := len(host) / 2
	if i := strings.IndexByte(host[mid:], '\n'); i >= 0 {
		mid += i + 1
	} else if i := strings.LastIndexByte(host[:mid], ' '); i >= 0 {
		mid = i + 1
	} else {
		return host + "\n" + inner
	}
	return host[:mid] + inner + " " + host[mid:]
}

// excerpt returns a piece of s of at most about 700 bytes, cut at line
// (or else space) boundaries, so that a task planted in it is not diluted
// beyond what a scoring window sees.
func (g *dataGen) excerpt(s string) string { return g.piece(s, 200, 700) }

// dataPieces splits data into its lines, and long lines into sentences,
// keeping pieces of at least three words.
func dataPieces(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		var parts []string
		if len(line) > 200 {
			parts = strings.SplitAfter(line, ". ")
		} else {
			parts = []string{line}
		}
		for _, p := range parts {
			p = strings.TrimSpace(p)
			if len(strings.Fields(p)) >= 3 {
				out = append(out, p)
			}
		}
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// DataExamples returns the training set of the data head for the given
// corpus rows (the training split): the rows' attacks and their users'
// questions are instructions for the assistant, hence injections in data;
// the rows' e-mails, tables and code answers are ordinary data. WildGuard
// rows are user prompts and some are statements, so they are not used
// here. Ordinary rows ([LoadOrdinary]: tldr pages, tool definitions, tool
// calls) are ordinary data. To these it adds the prompt head's synthetic
// attacks, generated tasks for an assistant (alone, and planted in
// generated data, in the corpus contexts and in the ordinary rows) and
// generated ordinary data full of requests and instructions meant for
// people (see ordinary.go). Deterministic for a seed.
func DataExamples(rows []Row, seed uint64) []detect.ModelExample {
	g := &dataGen{rng: rand.New(rand.NewPCG(seed, 0xda7a))}
	var out []detect.ModelExample
	var contexts, asks, ordinary []string
	for _, r := range rows {
		if r.Ordinary {
			ordinary = append(ordinary, r.Text)
			continue
		}
		if r.File != "bipia.jsonl" {
			continue
		}
		cat := Category(r)
		switch {
		case r.Malicious():
			out = append(out, detect.ModelExample{Text: r.Text, Injection: true})
			asks = append(asks, r.Text)
		case strings.HasSuffix(cat, "_question"):
			// A user's question about the data; planted in data it is an
			// injection, but its words are the data's own, so it is only
			// used planted (below), never alone.
			asks = append(asks, strings.TrimPrefix(r.Text, "Q: "))
		default:
			out = append(out, detect.ModelExample{Text: r.Text, Weight: 2})
			contexts = append(contexts, r.Text)
		}
	}
	pos := func(s string) { out = append(out, detect.ModelExample{Text: s, Injection: true}) }
	neg := func(s string) { out = append(out, detect.ModelExample{Text: s}) }
	for i, a := range bareAttacks(seed) {
		if i%2 == 0 {
			pos(a)
			continue
		}
		// Planted in generated data, paired with the same data without it.
		host := g.container("")
		pos(g.plantIn(host, a))
		neg(host)
	}
	planted := func() string { return g.pick(plantPrefixes) + g.task() }
	for range 2500 {
		pos(g.task())
	}
	for range 2500 {
		pos(g.container(planted()))
	}
	for i := range 1500 {
		if len(contexts) == 0 {
			break
		}
		inner := planted()
		if len(asks) > 0 && i%3 == 0 {
			inner = asks[g.rng.IntN(len(asks))]
		}
		// The same excerpt without the task is a negative: the pair
		// differs only by the task, so the context's own words do not
		// become evidence.
		host := g.excerpt(contexts[g.rng.IntN(len(contexts))])
		pos(g.plantIn(host, inner))
		neg(host)
	}
	// Lines and sentences of real data are ordinary data too: they teach
	// that a sentence addressed to the reader of an e-mail, or one table
	// row, is not a task for the assistant.
	// Prose (e-mails, code answers) is rarer than tables in the corpus
	// and is where data most resembles a request, so all of its pieces
	// are used, weighted up; a table gives a few of its rows.
	for _, c := range contexts {
		pieces := dataPieces(c)
		if strings.HasPrefix(c, "|") {
			g.rng.Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })
			pieces = pieces[:min(len(pieces), 4)]
		}
		for _, p := range pieces {
			out = append(out, detect.ModelExample{Text: p, Weight: 3})
		}
	}
	// The model scores long texts in 1 KiB windows: long contexts are
	// also learnt window by window.
	for _, c := range contexts {
		if len(c) > 1<<10 {
			neg(g.excerpt(c))
		}
	}
	for range 5000 {
		neg(g.container(""))
	}
	for range 2500 {
		neg(g.codeAnswer())
	}
	for range 3000 {
		neg(g.benignShort())
	}
	for range 3000 {
		neg(g.subjectData())
	}
	for range 1000 {
		neg(g.container(g.benignShort()))
	}
	for range 800 {
		neg(g.email(g.pick(foreignData)))
	}
	// Ordinary documents (see ordinary.go), one scoring window each: alone
	// and, paired with the same window, with a task or an attack planted.
	bare := bareAttacks(seed ^ 0x0d0c)
	for range 6000 {
		neg(g.window(g.ordinaryDoc()))
	}
	// Single sentences and table rows of the same: short texts weigh each
	// word more, and tasks are short.
	kinds := []string{"answer", "prose", "notice", "readme", "notes"}
	for i := range 6000 {
		if i%5 == 4 {
			t := g.longTable()
			lines := strings.Split(strings.TrimSpace(t), "\n")
			neg(lines[g.rng.IntN(len(lines))])
			continue
		}
		neg(strings.Join(g.sentences(kinds[g.rng.IntN(len(kinds))], 1+g.rng.IntN(2)), " "))
	}
	for i := range 3000 {
		host := g.window(g.ordinaryDoc())
		inner := planted()
		if i%3 == 0 {
			inner = bare[g.rng.IntN(len(bare))]
		}
		pos(g.plantIn(host, inner))
		neg(host)
	}
	// Ordinary corpus text (tldr pages, tool definitions, tool calls):
	// each a negative, and some paired with a task planted in them.
	for _, o := range ordinary {
		neg(g.window(o))
	}
	for i := range min(len(ordinary), 1500) {
		host := g.window(ordinary[g.rng.IntN(len(ordinary))])
		inner := planted()
		if i%3 == 0 {
			inner = bare[g.rng.IntN(len(bare))]
		}
		pos(g.plantIn(host, inner))
		neg(host)
	}
	return out
}

// Planted returns, for a measurement of the data head, each attack row
// planted in an excerpt of one of the context rows (chosen in turn, with
// the place and the prefix drawn from seed) and, alongside, the same
// excerpts without the attack. Deterministic for a seed.
func Planted(attacks, contexts []Row, seed uint64) (planted, hosts []string) {
	if len(contexts) == 0 {
		return nil, nil
	}
	g := &dataGen{rng: rand.New(rand.NewPCG(seed, 0x91a7))}
	for i, a := range attacks {
		host := g.excerpt(contexts[i*7%len(contexts)].Text)
		planted = append(planted, g.plantIn(host, g.pick(plantPrefixes)+a.Text))
		hosts = append(hosts, host)
	}
	return planted, hosts
}
