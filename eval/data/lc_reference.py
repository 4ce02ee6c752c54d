# The reference values of eval/src/lc/logistic.rs tests: scikit-learn (1.9.1 here) fitting
# the same synthetic rows AlpacaEval's way. Run: pip install scikit-learn && python3 eval/data/lc_reference.py
import numpy as np, sklearn, warnings
warnings.filterwarnings('ignore')
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import GroupKFold
from sklearn.metrics import make_scorer
sklearn.set_config(enable_metadata_routing=True)
def data(n):
    i=np.arange(n)
    x0=np.tanh((((i*37)%23)-11)/5.0); x1=(((i*53)%17)-8)/4.0
    noise=(((i*29)%11)-5)/10.0
    p=1/(1+np.exp(-(-1.5*x0+0.8*x1-0.3+noise)))
    sw=np.where(i%7==0,0.1,1.0)
    X=np.c_[x0,x1,np.ones(n)]
    return X,p,sw
def logloss(y_true,y_pred,sample_weight=None):
    y_pred=np.clip(y_pred,1e-15,1-1e-15)
    l=y_true*np.log(y_pred)+(1-y_true)*np.log(1-y_pred)
    if sample_weight is not None: l=l*sample_weight
    return -np.mean(l)
def llc(y_true,y_pred,true_prob,true_sample_weight=None):
    y_true=np.where(y_true==1,true_prob,1-true_prob)
    return logloss(y_true,y_pred,sample_weight=true_sample_weight)
X,p,sw=data(40); n=40
Xd=np.r_[X,X]; y=np.r_[np.ones(n),np.zeros(n)]; tp=np.r_[p,1-p]; w=np.r_[sw,sw]
for C in [0.05,1.0,100.0]:
    m=LogisticRegression(C=C,penalty='l1',solver='liblinear',fit_intercept=False,tol=1e-12,max_iter=100000,random_state=123).fit(Xd,y,sample_weight=tp*w)
    print(C, repr(m.coef_[0].tolist()))
for n in [12,60,200]:
    X,p,sw=data(n)
    Xd=np.r_[X,X]; y=np.r_[np.ones(n),np.zeros(n)]; tp=np.r_[p,1-p]; w=np.r_[sw,sw]; groups=np.r_[np.arange(n),np.arange(n)]
    sc=make_scorer(llc,response_method='predict_proba',greater_is_better=False).set_score_request(true_sample_weight=True,true_prob=True)
    mod=LogisticRegressionCV(cv=GroupKFold(5),scoring=sc,random_state=123,dual=False,penalty='l1',solver='liblinear',fit_intercept=False,tol=1e-10,max_iter=100000)
    mod.set_fit_request(sample_weight=True)
    mod.fit(Xd,y,sample_weight=tp*w,groups=groups,true_sample_weight=w,true_prob=tp)
    print(n, mod.C_[0], repr(mod.coef_[0].tolist()), repr(mod.scores_[1.0].mean(axis=0).tolist()))
