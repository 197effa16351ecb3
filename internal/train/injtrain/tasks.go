package injtrain

import "strings"

// A broader grammar of tasks for an assistant: the common kinds of work
// people ask an assistant for (writing, explaining, analysing, coding and
// automating, researching, advising and planning, role-play and small
// talk, questions of fact, transforming text), each a verb from its
// family with one of the family's objects. In data, any of them is an
// injection.

// taskFamily is one kind of task: verbs that take one of the objects.
type taskFamily struct {
	verbs, objects []string
}

var taskFamilies = []taskFamily{
	{ // writing
		verbs: []string{"write", "draft", "compose", "create", "produce", "prepare", "craft", "put together", "come up with",
			"generate", "develop", "design", "pen", "sketch out", "provide", "give me", "share", "put into words"},
		objects: []string{"a speech about {subject}", "an essay on {subject}", "a short story set in {setting}", "a poem about {subject}",
			"a blog post on {subject}", "a press release announcing {news}", "a product description for {product}",
			"a newsletter about {subject}", "a job advert for {role}", "a thank-you note to {person}", "a toast for {occasion}",
			"a cover letter for {role}", "a slogan for {business}", "a social media post about {subject}",
			"a script for a short video on {subject}", "a lesson plan on {subject}", "a song about {subject}",
			"a dialogue between {person} and {person}", "a review of {product}", "an outline for a talk on {subject}",
			"a proposal for {business}", "a pitch for {business}", "a menu for {occasion}", "a workout plan for {person}",
			"an itinerary for {setting}", "a marketing plan for {business}", "a survey about {subject}", "a quiz on {subject}",
			"a checklist for {occasion}", "a timeline of {subject}", "a presentation on {subject}", "a bedtime story for {person}",
			"an apology letter to {person}", "a complaint to {person} about {problem}", "a riddle about {subject}"},
	},
	{ // explaining
		verbs: []string{"explain", "describe", "summarise", "summarize", "outline", "clarify", "break down", "walk me through",
			"give an overview of", "tell me about", "teach me", "define", "discuss", "compare", "illustrate", "simplify",
			"provide an overview of", "give me a summary of", "elaborate on"},
		objects: []string{"{subject}", "how {mechanism} works", "the history of {subject}", "the causes of {event}",
			"the difference between {pair}", "the main ideas of {book}", "the rules of {game}", "why {phenomenon}",
			"the pros and cons of {choice}", "what {role} does all day", "the basics of {field}", "{field} for beginners"},
	},
	{ // analysing
		verbs: []string{"analyse", "analyze", "evaluate", "assess", "review", "critique", "examine", "interpret", "identify the trends in",
			"find patterns in", "estimate", "forecast", "rank", "classify", "categorise", "categorize", "determine the sentiment of",
			"judge the tone of", "score", "spot the weaknesses in", "measure", "prioritize", "calculate", "quantify", "summarize"},
		objects: []string{"these sales figures", "the customer reviews below", "last year's budget", "the survey results",
			"the market for {product}", "our competitors' prices", "the following posts", "this feedback",
			"staff turnover at {business}", "the website traffic", "the quarterly numbers", "the poll data",
			"the energy use of {setting}", "the risks of {choice}", "demand for {product}", "the arguments for {choice}",
			"the performance of {business}", "the comments under the article"},
	},
	{ // coding and automating
		verbs: []string{"write a script that", "write a function that", "build a tool that", "create a bot that",
			"set up a job that", "write a program that", "make a macro that", "write a shell command that", "write code that",
			"automate a workflow that", "configure a task that"},
		objects: []string{"renames all photos by date", "backs up a folder every night", "sends a reminder e-mail every Monday",
			"merges two spreadsheets", "converts CSV to JSON", "collects headlines from a news site", "resizes images in bulk",
			"sorts files by extension", "checks a website for broken links", "watches disk usage", "fills in invoices from a template",
			"removes duplicate contacts", "posts a daily summary to the team chat", "parses log files for errors",
			"downloads all attachments from my inbox", "tracks prices of {product}", "schedules posts for the week",
			"validates e-mail addresses", "counts words in every document", "archives old messages"},
	},
	{ // researching
		verbs: []string{"find", "look up", "search for", "gather", "compile", "collect", "list", "dig up", "track down", "research",
			"identify", "name", "recommend", "suggest", "provide", "give me"},
		objects: []string{"recent studies on {subject}", "sources about {subject}", "statistics on {subject}",
			"the best books about {subject}", "experts on {subject}", "news about {subject}", "data on {subject}",
			"reviews of {product}", "case studies of {business}", "the latest research on {field}", "suppliers of {product}"},
	},
	{ // advising and planning
		verbs: []string{"give me advice on how to", "tell me how to", "show me how to", "help me", "suggest ways to",
			"recommend a way to", "plan how to", "explain how I can", "give me a step-by-step guide to", "coach me to",
			"provide tips on how to", "what steps should I take to", "organize how to"},
		objects: []string{"improve my sleep", "save money for a house", "learn a new language", "prepare for a marathon",
			"decorate a small flat", "start a vegetable garden", "get better at public speaking", "organise a team offsite",
			"reduce stress at work", "choose a laptop", "train a puppy", "negotiate my rent", "write a better CV",
			"get over jet lag", "keep a plant alive", "plan a wedding on a budget", "study for {field} exams",
			"run {business}", "make friends in a new city", "cook for {occasion}"},
	},
	{ // questions of fact and opinion, asked of the assistant
		verbs: []string{"what is", "who", "when did", "where is", "why do", "how does", "which", "how many", "is it true that",
			"what are the main differences between", "what's the best way to", "what do you think about", "can you tell me"},
		objects: []string{"the capital of {country}", "invented {invention}", "{event} happen", "the oldest {place} in {country}",
			"{phenomenon}", "{mechanism} work", "{pair}", "countries border {country}", "{field} exams cover",
			"people live in {country}", "{subject} is good for you", "{goal}", "{choice}", "the origin of {subject}",
			"wrote {book}", "the tallest {place} in {country}", "the meaning of the word '{word}'"},
	},
	{ // transforming text
		verbs: []string{"translate", "rewrite", "paraphrase", "shorten", "proofread", "reword", "convert", "turn",
			"rephrase", "condense", "expand"},
		objects: []string{"'{phrase}' into {language}", "this paragraph in a {style} tone", "the following sentence for {person}",
			"these notes into a formal letter", "my CV into bullet points", "'{phrase}' so it sounds {style}",
			"the text above into plain English", "the first line into {language}", "this recipe for {occasion}"},
	},
	{ // role-play and small talk
		verbs: []string{"pretend you are", "act as", "imagine you are", "play the role of", "respond as", "be"},
		objects: []string{"a tour guide in {setting} and show me around", "a job interviewer and ask me questions",
			"a personal trainer and motivate me", "a friendly librarian", "a pirate captain telling a story",
			"a customer service agent", "a chess coach", "a travel agent planning my holiday", "a detective solving a case",
			"my language partner and chat with me", "a stand-up comedian", "a historian from {setting}",
			"a therapist and listen to me", "a debate opponent arguing for {choice}"},
	},
}

// Task slot fillers.
var taskSlots = map[string][]string{
	"subject": {"community gardens", "renewable energy", "remote work", "the history of jazz", "space exploration",
		"healthy eating", "online privacy", "volunteering", "urban cycling", "ocean plastic", "artificial intelligence",
		"the Roman Empire", "climate adaptation", "friendship", "small businesses", "mental health", "recycling",
		"the importance of sleep", "electric cars", "local elections", "public transport", "street art", "rare earth metals",
		"honey bees", "the gig economy", "ancient Greece", "video games", "digital nomads", "tiny houses", "minimalism"},
	"setting": {"a lighthouse", "Kyoto", "a space station", "a small fishing town", "Paris in the 1920s", "a desert island",
		"a school in the mountains", "a busy hospital", "Lisbon", "a future city", "a haunted castle", "a small office"},
	"news": {"a new product line", "our summer festival", "a partnership with a charity", "a new branch in Leeds",
		"the winner of our photo contest", "record sales", "a change of opening hours"},
	"product": {"a smartwatch", "a reusable water bottle", "an electric bike", "a standing desk", "a language app",
		"noise-cancelling headphones", "a smart thermostat", "a board game", "organic tea", "a robot vacuum"},
	"role": {"a junior developer", "a barista", "a nurse", "a project manager", "a data analyst", "a teacher",
		"a sales assistant", "a graphic designer"},
	"person": {"my grandmother", "my boss", "a new neighbour", "my landlord", "a ten-year-old", "a beginner",
		"my best friend", "a retired teacher", "a customer", "my team"},
	"occasion": {"a birthday party", "a wedding", "a team dinner", "a picnic", "a first date", "a retirement party",
		"a camping trip", "a job interview", "Christmas", "a school reunion"},
	"business": {"a food truck", "a bike repair shop", "an online bookshop", "a dog-walking service", "a coworking space",
		"a craft brewery", "a tutoring platform", "a vegan bakery", "a cleaning company", "a mobile game studio"},
	"problem": {"the noisy heating", "a late delivery", "a wrong invoice", "a broken lift", "the parking fees"},
	"mechanism": {"a heat pump", "the stock market", "a vaccine", "GPS", "a blockchain", "the immune system",
		"compound interest", "a search engine", "an electric motor", "photosynthesis", "a credit score", "the tides"},
	"event": {"the Great Depression", "the fall of Rome", "the French Revolution", "the 2008 crisis", "the Cold War",
		"the Industrial Revolution"},
	"pair": {"weather and climate", "a virus and a bacterium", "stocks and bonds", "RAM and storage",
		"baking soda and baking powder", "a crocodile and an alligator", "affect and effect"},
	"book": {"1984", "Pride and Prejudice", "The Odyssey", "Hamlet", "Moby-Dick", "War and Peace", "Don Quixote"},
	"game": {"chess", "cricket", "poker", "rugby", "go", "bridge", "curling", "mahjong"},
	"phenomenon": {"leaves change colour", "we dream", "the sea is salty", "cats purr", "bread rises", "ice floats",
		"prices rise", "birds migrate"},
	"choice": {"working from home", "renting versus buying", "nuclear power", "a four-day week", "homeschooling",
		"electric cars", "social media for teenagers", "a universal basic income"},
	"country": {"Peru", "Mongolia", "Portugal", "Kenya", "Canada", "Vietnam", "Norway", "Chile", "Egypt", "New Zealand"},
	"invention": {"the bicycle", "the printing press", "the telephone", "the microwave oven", "the zip", "the barcode",
		"the World Wide Web", "the light bulb"},
	"place": {"university", "bridge", "mountain", "city", "lake", "castle", "railway station", "library"},
	"goal": {"learn to cook", "save for retirement", "fall asleep faster", "clean a cast-iron pan", "keep basil alive",
		"memorise a speech", "get rid of fruit flies"},
	"word": {"serendipity", "quarantine", "robot", "algebra", "ketchup", "salary", "avatar"},
	"phrase": {"see you tomorrow", "where is the museum", "happy birthday", "thank you for your help",
		"the train is late", "I would like a coffee"},
	"language": {"Spanish", "Japanese", "German", "Swahili", "Italian", "Korean", "Polish", "Arabic", "Dutch"},
	"style":    {"friendly", "formal", "funny", "persuasive", "neutral", "more confident", "simpler"},
	"field": {"statistics", "accounting", "photography", "machine learning", "astronomy", "economics", "chemistry",
		"music theory", "web design", "philosophy"},
}

// familyTask returns a task composed from one of taskFamilies, sometimes
// with an opener ("Please ...", "Can you ...?").
func (g *dataGen) familyTask() string {
	f := taskFamilies[g.rng.IntN(len(taskFamilies))]
	s := g.fillFrom(g.pick(f.verbs)+" "+g.pick(f.objects), taskSlots)
	op := g.pick(taskOpeners)
	if op == "%s" {
		return upperFirst(s) + "."
	}
	s = strings.Replace(op, "%s", s, 1)
	if !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}
